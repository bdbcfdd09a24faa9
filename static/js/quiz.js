// Progressive enhancement of "Report this photo": a dialog on the quiz page that sends the report
// to the JSON API, instead of the page of its own the link leads to without this script.
(function () {
  "use strict";
  const dialog = document.getElementById("report-dialog");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) return;
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
          if (response.ok) return done("Reported — thank you.");
          if (body.code === "already_reported") return done("You have already reported this photo.");
          if (response.status === 404) return done("This photo is no longer in the quiz.");
          error.textContent = body.detail || "The report could not be sent; please try again.";
          error.hidden = false;
        });
      })
      .catch(function () {
        error.textContent = "The report could not be sent; check your connection and try again.";
        error.hidden = false;
      });
  });
})();
