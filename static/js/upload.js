// Progressive enhancement of the upload form: send the photo to the JSON API, show the
// verdict as soon as the worker has it, and let the uploader correct it. Without this
// script the form still works (server-rendered result page).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData) return;
  const fileInput = document.getElementById("image-input");
  const cameraInput = document.getElementById("camera-input");
  const dropzone = document.getElementById("dropzone");
  const result = document.getElementById("result");
  let dropped = null;

  function show(html) {
    result.hidden = false;
    result.innerHTML = html;
  }

  function escapeText(text) {
    const span = document.createElement("span");
    span.textContent = String(text);
    return span.innerHTML;
  }

  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function () { dropzone.classList.remove("over"); });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      dropped = event.dataTransfer.files[0];
      dropzone.querySelector(".dropzone-text").textContent = dropped.name;
      fileInput.required = false;
    }
  });
  cameraInput.addEventListener("change", function () {
    if (cameraInput.files.length) fileInput.required = false;
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const file = dropped || (cameraInput.files[0]) || (fileInput.files[0]);
    if (!file) {
      show('<p class="message error" role="alert">Please choose a photo first.</p>');
      return;
    }
    const body = new FormData();
    body.append("image", file);
    show("<p>Uploading…</p>");
    fetch(form.dataset.api, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          show('<p class="message error" role="alert">' + escapeText(answer.data.detail || "Upload failed.") + "</p>");
          return;
        }
        show("<p>Checking your photo…</p>");
        poll(answer.data.id, Date.now());
      })
      .catch(function () {
        show('<p class="message error" role="alert">The upload did not get through. Please try again.</p>');
      });
  });

  function poll(id, started) {
    fetch("/api/uploads/" + id + "/", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (upload) {
        if (upload.status === "queued" || upload.status === "running") {
          if (Date.now() - started > 120000) {
            show("<p>This is taking longer than usual. <a href=\"/upload/" + id + "/\">Check back here</a>.</p>");
            return;
          }
          // Fast at first (a verdict usually takes well under a second), then gentler.
          setTimeout(function () { poll(id, started); }, Date.now() - started < 3000 ? 100 : 1000);
          return;
        }
        render(upload);
      });
  }

  function render(upload) {
    let html = "";
    if (upload.status === "done") {
      const verdict = upload.label === "corrosion" ? "Corrosion" : "No corrosion";
      html += '<p class="verdict ' + escapeText(upload.label) + '">' + verdict +
        " — probability of corrosion " + Number(upload.probability).toFixed(2) +
        " (model v" + escapeText(upload.model_version) + ")</p>";
      html += '<figure class="heatmap"><img src="' + escapeText(upload.heatmap_url) +
        '" alt="Your photo with a heatmap: warm colours mark where the model sees corrosion">' +
        "<figcaption>Warm colours mark where the model sees corrosion.</figcaption></figure>";
    } else if (upload.status === "no_model") {
      html += "<p>No model is trained yet, so there is no verdict. Your photo has joined the quiz.</p>";
    } else {
      html += '<p class="message error">Sorry, the photo could not be classified. It has still joined the quiz.</p>';
    }
    html += '<div class="correction"><p>Is there corrosion in this photo? Your answer counts as your vote.</p>' +
      '<button type="button" data-corrosion="true">Yes, corrosion</button> ' +
      '<button type="button" data-corrosion="false">No corrosion</button></div>';
    show(html);
    result.querySelectorAll("button[data-corrosion]").forEach(function (button) {
      button.addEventListener("click", function () { correct(upload.id, button.dataset.corrosion === "true"); });
    });
  }

  function correct(id, corrosion) {
    fetch("/api/uploads/" + id + "/correction/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ corrosion: corrosion }),
    }).then(function (response) {
      const box = result.querySelector(".correction");
      box.innerHTML = response.ok
        ? '<p class="message success">Thank you — recorded as "' + (corrosion ? "corrosion" : "no corrosion") + '".</p>'
        : '<p class="message error">Your answer could not be recorded.</p>';
    });
  }
})();
