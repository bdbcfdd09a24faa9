// Progressive enhancement of the upload form: send each chosen photo to the JSON API as its own
// upload, list the results as they arrive (verdict, heatmap, or why a file was refused), and let the
// uploader correct each verdict. Without this script the form still works (server-rendered results).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData || !window.Promise) return;
  const fileInput = document.getElementById("image-input");
  const cameraInput = document.getElementById("camera-input");
  const shareInput = document.getElementById("share-input");
  const dropzone = document.getElementById("dropzone");
  const dropzoneText = dropzone.querySelector(".dropzone-text");
  const result = document.getElementById("result");
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  // The page's words in its language (uploads.views._js_strings, rendered with json_script).
  const stringsNode = document.getElementById("upload-strings");
  const strings = stringsNode ? JSON.parse(stringsNode.textContent) : {};
  let dropped = [];

  function escapeText(text) {
    const span = document.createElement("span");
    span.textContent = String(text);
    return span.innerHTML;
  }

  function escapeAttribute(text) {
    return escapeText(text).replace(/"/g, "&quot;");
  }

  function chosenFiles() {
    const picked = dropped.length ? dropped : Array.from(fileInput.files);
    return Array.from(cameraInput.files).concat(picked);
  }

  function describeChoice() {
    const count = chosenFiles().length;
    dropzoneText.textContent = count === 1 ? chosenFiles()[0].name
      : count ? count + " photos chosen" : "Drop photos here, or choose them";
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
      dropped = Array.from(event.dataTransfer.files);
      describeChoice();
    }
  });
  fileInput.addEventListener("change", function () { dropped = []; describeChoice(); });
  cameraInput.addEventListener("change", describeChoice);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const files = chosenFiles();
    const list = resultList();
    const warning = result.querySelector(".choose-first");
    if (warning) warning.remove();
    if (!files.length) {
      result.insertAdjacentHTML("afterbegin",
        '<p class="message error choose-first" role="alert">Please choose a photo first.</p>');
      return;
    }
    const share = shareInput.checked ? "true" : "false";
    const boxes = files.map(function (file) { return addItem(list, file.name); });
    // Emptied at once, so that pressing the button again does not send the same photos twice.
    fileInput.value = "";
    cameraInput.value = "";
    dropped = [];
    describeChoice();
    // One file after another: a phone's uplink serves one upload better than several; each verdict is
    // polled for in parallel, while the next file goes up.
    files.reduce(function (previous, file, index) {
      return previous.then(function () { return send(file, share, boxes[index]); });
    }, Promise.resolve());
  });

  function resultList() {
    result.hidden = false;
    let list = result.querySelector("ol.results");
    if (!list) {
      list = document.createElement("ol");
      list.className = "results";
      result.appendChild(list);
    }
    return list;
  }

  function addItem(list, name) {
    const item = document.createElement("li");
    item.className = "upload-result";
    const title = document.createElement("p");
    title.className = "file-name";
    title.textContent = name;
    const box = document.createElement("div");
    box.innerHTML = "<p>Waiting…</p>";
    item.appendChild(title);
    item.appendChild(box);
    list.appendChild(item);
    return box;
  }

  function showError(box, message) {
    box.innerHTML = '<p class="message error" role="alert">' + escapeText(message) + "</p>";
  }

  function send(file, share, box) {
    if (file.size > maxBytes) {
      showError(box, "The file is larger than " + form.dataset.maxMegabytes + " MB.");
      return Promise.resolve();
    }
    const body = new FormData();
    body.append("image", file);
    body.append("share", share);
    box.innerHTML = "<p>Uploading…</p>";
    return fetch(form.dataset.api, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        // A proxy's own error page (413 from nginx) is not JSON: the status still says what happened.
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      })
      .then(function (answer) {
        if (!answer.ok) {
          showError(box, answer.data.detail || "The upload was refused (HTTP " + answer.status + ").");
          return;
        }
        box.innerHTML = "<p>Checking your photo…</p>";
        poll(answer.data.id, Date.now(), box);
      })
      .catch(function () {
        showError(box, "The upload did not get through. Please try again.");
      });
  }

  function poll(id, started, box) {
    fetch("/api/uploads/" + id + "/", { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (upload) {
        if (upload.status === "queued" || upload.status === "running") {
          if (Date.now() - started > 120000) {
            box.innerHTML = "<p>This is taking longer than usual. <a href=\"/upload/" + escapeText(id) +
              "/\">Check back here</a>.</p>";
            return;
          }
          // Fast at first (a verdict usually takes well under a second), then gentler.
          setTimeout(function () { poll(id, started, box); }, Date.now() - started < 3000 ? 100 : 1000);
          return;
        }
        render(upload, box);
      })
      .catch(function () {
        box.innerHTML = "<p>The verdict could not be fetched. <a href=\"/upload/" + escapeText(id) +
          "/\">See it here</a>.</p>";
      });
  }

  function render(upload, box) {
    let html = "";
    if (upload.status === "done") {
      const verdict = upload.label === "corrosion" ? "Corrosion" : "No corrosion";
      html += '<p class="verdict ' + escapeText(upload.label) + '">' + verdict +
        " — probability of corrosion " + Number(upload.probability).toFixed(2) +
        " (model v" + escapeText(upload.model_version) + ")</p>";
      if (upload.model_card_url && upload.model_accuracy !== null && strings.model_quality) {
        const accuracy = (Number(upload.model_accuracy) * 100).toFixed(1) + " %";
        html += '<p class="model-quality">' + escapeText(strings.model_quality.replace("%(accuracy)s", accuracy)) +
          ' <a href="' + escapeAttribute(upload.model_card_url) + '">' + escapeText(strings.about_model) + "</a></p>";
      }
      // The heatmap's description (computed by the server) leads its alt text and its caption.
      const described = upload.heatmap_description ? upload.heatmap_description + " " : "";
      html += '<figure class="heatmap"><img src="' + escapeText(upload.heatmap_url) +
        '" alt="' + escapeAttribute(described + (strings.heatmap_alt || "")) + '"><figcaption>' +
        (described ? '<strong class="heatmap-description">' + escapeText(upload.heatmap_description) + "</strong> " : "") +
        escapeText(strings.heatmap_caption || "") + "</figcaption></figure>";
    } else if (upload.status === "no_model") {
      html += "<p>No model is trained yet, so there is no verdict.</p>";
    } else {
      html += '<p class="message error">Sorry, the photo could not be classified.</p>';
    }
    html += '<div class="correction"><p>Is there corrosion in this photo? Your answer counts as your vote.</p>' +
      '<button type="button" data-corrosion="true">Yes, corrosion</button> ' +
      '<button type="button" data-corrosion="false">No corrosion</button></div>';
    box.innerHTML = html;
    box.querySelectorAll("button[data-corrosion]").forEach(function (button) {
      button.addEventListener("click", function () {
        correct(upload.id, button.dataset.corrosion === "true", box.querySelector(".correction"));
      });
    });
  }

  function correct(id, corrosion, box) {
    fetch("/api/uploads/" + id + "/correction/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ corrosion: corrosion }),
    }).then(function (response) {
      box.innerHTML = response.ok
        ? '<p class="message success">Thank you — recorded as "' + (corrosion ? "corrosion" : "no corrosion") + '".</p>'
        : '<p class="message error">Your answer could not be recorded.</p>';
    });
  }
})();
