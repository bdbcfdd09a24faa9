// Progressive enhancement of the upload form: send each chosen photo to the JSON API as its own
// upload, list the results as they arrive (verdict, heatmap, or why a file was refused), and let the
// uploader correct each verdict. Without this script the form still works (server-rendered results).
// Its texts come translated from the page (#upload-strings, rendered by uploads/views.py's JS_STRINGS).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  const stringsElement = document.getElementById("upload-strings");
  if (!form || !stringsElement || !window.fetch || !window.FormData || !window.Promise) return;
  const strings = JSON.parse(stringsElement.textContent);
  const language = document.documentElement.lang || "en";
  const fileInput = document.getElementById("image-input");
  const cameraInput = document.getElementById("camera-input");
  const shareInput = document.getElementById("share-input");
  const dropzone = document.getElementById("dropzone");
  const dropzoneText = dropzone.querySelector(".dropzone-text");
  const result = document.getElementById("result");
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  let dropped = [];

  // A translated text with its %(name)s placeholders filled in.
  function t(key, values) {
    return strings[key].replace(/%\((\w+)\)s/g, function (whole, name) {
      return values && name in values ? String(values[name]) : whole;
    });
  }

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
      : count ? t("chosen", { count: count }) : t("choose");
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
        '<p class="message error choose-first" role="alert">' + escapeText(t("choose_first")) + "</p>");
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
    box.innerHTML = "<p>" + escapeText(t("waiting")) + "</p>";
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
      showError(box, t("too_large", { megabytes: form.dataset.maxMegabytes }));
      return Promise.resolve();
    }
    const body = new FormData();
    body.append("image", file);
    body.append("share", share);
    box.innerHTML = "<p>" + escapeText(t("uploading")) + "</p>";
    return fetch(form.dataset.api, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        // A proxy's own error page (413 from nginx) is not JSON: the status still says what happened.
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      })
      .then(function (answer) {
        if (!answer.ok) {
          showError(box, answer.data.detail || t("refused", { status: answer.status }));
          return;
        }
        box.innerHTML = "<p>" + escapeText(t("checking")) + "</p>";
        poll(answer.data.id, Date.now(), box);
      })
      .catch(function () {
        showError(box, t("lost"));
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
            box.innerHTML = "<p>" + escapeText(t("slow")) + ' <a href="/upload/' + escapeText(id) + '/">' +
              escapeText(t("check_back")) + "</a></p>";
            return;
          }
          // Fast at first (a verdict usually takes well under a second), then gentler.
          setTimeout(function () { poll(id, started, box); }, Date.now() - started < 3000 ? 100 : 1000);
          return;
        }
        render(upload, box);
      })
      .catch(function () {
        box.innerHTML = "<p>" + escapeText(t("not_fetched")) + ' <a href="/upload/' + escapeText(id) + '/">' +
          escapeText(t("see_it")) + "</a></p>";
      });
  }

  function render(upload, box) {
    let html = "";
    if (upload.status === "done") {
      const verdict = t(upload.label === "corrosion" ? "corrosion" : "no_corrosion");
      // Numbers as the page's language writes them (0,73 in Spanish and French).
      const probability = Number(upload.probability).toLocaleString(language, {
        minimumFractionDigits: 2, maximumFractionDigits: 2,
      });
      html += '<p class="verdict ' + escapeText(upload.label) + '">' + escapeText(verdict) + " — " +
        escapeText(t("probability", { probability: probability, version: upload.model_version })) + "</p>";
      if (upload.model_card_url && upload.model_accuracy !== null) {
        const accuracy = (Number(upload.model_accuracy) * 100).toLocaleString(language, {
          minimumFractionDigits: 1, maximumFractionDigits: 1,
        }) + " %";
        html += '<p class="model-quality">' + escapeText(t("model_quality", { accuracy: accuracy })) +
          ' <a href="' + escapeAttribute(upload.model_card_url) + '">' + escapeText(t("about_model")) + "</a></p>";
      }
      // The heatmap's description (computed by the server) leads its alt text and its caption.
      const described = upload.heatmap_description ? upload.heatmap_description + " " : "";
      html += '<figure class="heatmap"><img src="' + escapeText(upload.heatmap_url) +
        '" alt="' + escapeAttribute(described + t("heatmap_alt")) + '"><figcaption>' +
        (described ? '<strong class="heatmap-description">' + escapeText(upload.heatmap_description) + "</strong> " : "") +
        escapeText(t("heatmap_caption")) + "</figcaption></figure>";
    } else if (upload.status === "no_model") {
      html += "<p>" + escapeText(t("no_model")) + "</p>";
    } else {
      html += '<p class="message error">' + escapeText(t("failed")) + "</p>";
    }
    html += '<div class="correction"><p>' + escapeText(t("question")) + "</p>" +
      '<button type="button" data-corrosion="true">' + escapeText(t("yes")) + "</button> " +
      '<button type="button" data-corrosion="false">' + escapeText(t("no")) + "</button></div>";
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
        ? '<p class="message success">' + escapeText(t(corrosion ? "recorded_corrosion" : "recorded_no_corrosion")) + "</p>"
        : '<p class="message error">' + escapeText(t("not_recorded")) + "</p>";
    });
  }
})();
