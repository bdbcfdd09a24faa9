// Progressive enhancement of "Report this photo": a dialog on the quiz page that sends the report
// to the JSON API, instead of the page of its own the link leads to without this script.
// Its texts come translated from the page (#quiz-strings, rendered by quiz/views.py's JS_STRINGS).
(function () {
  "use strict";
  const dialog = document.getElementById("report-dialog");
  const stringsElement = document.getElementById("quiz-strings");
  if (!dialog || !stringsElement || typeof dialog.showModal !== "function" || !window.fetch) return;
  const strings = JSON.parse(stringsElement.textContent);
  const form = document.getElementById("report-dialog-form");
  const error = document.getElementById("report-dialog-error");
  let link = null;

  function done(text) {
    const note = document.createElement("p");
    note.className = "report-done";
    note.setAttribute("role", "status");
    note.textContent = text;
    note.tabIndex = -1;
    link.replaceWith(note);
    dialog.close();
    note.focus();  // the link that opened the dialog is gone: keep the keyboard user where they were
  }

  document.querySelectorAll(".report-link").forEach(function (each) {
    each.addEventListener("click", function (event) {
      event.preventDefault();
      link = each;
      form.reset();
      error.hidden = true;
      dialog.showModal();
      form.querySelector("input[name=reason]").focus();
    });
  });

  document.getElementById("report-dialog-cancel").addEventListener("click", function () {
    dialog.close();
    if (link) link.focus();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const chosen = form.querySelector("input[name=reason]:checked");
    if (!chosen || !link) return;
    fetch(link.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ reason: chosen.value }),
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) return done(strings.reported);
          if (body.code === "already_reported") return done(strings.already_reported);
          if (response.status === 404) return done(strings.gone);
          error.textContent = body.detail || strings.failed;
          error.hidden = false;
        });
      })
      .catch(function () {
        error.textContent = strings.offline;
        error.hidden = false;
      });
  });
})();
