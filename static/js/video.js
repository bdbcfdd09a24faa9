// The video page: upload a clip (with upload progress), poll its analysis, then draw the timeline as an
// inline SVG (probability against time, threshold, segments), list segments and key frames, and seek the
// player to a segment when it is chosen. Every word shown comes from the page's #video-strings (translated
// by the template); this script holds none of its own.
(function () {
  "use strict";
  const form = document.getElementById("video-form");
  if (!form || !window.fetch || !window.FormData || !window.Promise) return;
  const T = JSON.parse(document.getElementById("video-strings").textContent);
  const URLS = JSON.parse(document.getElementById("video-urls").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const input = document.getElementById("video-input");
  const choice = document.getElementById("video-choice");
  const shareInput = document.getElementById("video-share-input");
  const submit = document.getElementById("video-submit");
  const statusBox = document.getElementById("video-status");
  const statusText = document.getElementById("video-status-text");
  const progress = document.getElementById("video-progress");
  const resultBox = document.getElementById("video-result");
  const player = document.getElementById("video-player");
  const chartBox = document.getElementById("video-timeline");
  const segmentList = document.getElementById("video-segments");
  const keyFrameList = document.getElementById("video-key-frames");
  const sharePanel = document.getElementById("video-share-frames");
  const shareText = document.getElementById("video-share-frames-text");
  const shareButton = document.getElementById("video-share-frames-button");
  const maxBytes = Number(form.dataset.maxBytes) || Infinity;
  const threshold = Number(form.dataset.threshold);
  const isUploader = form.dataset.uploader === "true";
  let current = null; // the id of the video on show
  let pollTimer = null;
  let playhead = null;

  // "Classified {done} of {total}" + {done: 3, total: 9} -> "Classified 3 of 9".
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? String(values[name]) : whole;
    });
  }

  function urlFor(name, id) {
    return URLS[name].replace(form.dataset.placeholder, id);
  }

  // 75.4 -> "1:15"; an hour or more -> "1:02:03".
  function clock(seconds) {
    const whole = Math.max(0, Math.round(seconds));
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = whole % 60;
    const ss = (s < 10 ? "0" : "") + s;
    if (h) return h + ":" + (m < 10 ? "0" : "") + m + ":" + ss;
    return m + ":" + ss;
  }

  function showStatus(text, isError) {
    statusBox.hidden = false;
    statusText.textContent = text;
    statusText.className = isError ? "message error" : "";
    statusText.setAttribute("role", isError ? "alert" : "status");
  }

  function showProgress(done, total) {
    progress.hidden = total === null;
    if (total !== null) {
      progress.max = Math.max(1, total);
      progress.value = Math.min(done, progress.max);
    }
  }

  input.addEventListener("change", function () {
    choice.textContent = input.files.length ? input.files[0].name : T.choose;
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return showStatus(T.choose_first, true);
    if (file.size > maxBytes) return showStatus(T.too_large, true);
    const body = new FormData();
    body.append("video", file);
    body.append("share", shareInput.checked ? "true" : "false");
    submit.disabled = true;
    resultBox.hidden = true;
    stopPolling();
    // XMLHttpRequest, not fetch: only it reports how much of a large clip has gone up.
    const request = new XMLHttpRequest();
    request.open("POST", URLS.create);
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      showStatus(say(T.uploading, { percent: percent }));
      showProgress(e.loaded, e.total);
      if (e.loaded >= e.total) showStatus(T.checking);
    });
    request.addEventListener("load", function () {
      submit.disabled = false;
      let data = {};
      try { data = JSON.parse(request.responseText); } catch (ignored) { /* a proxy's HTML page */ }
      if (request.status !== 202 || !data.id) {
        showProgress(0, null);
        return showStatus(say(T.refused, { reason: data.detail || request.status + " " + request.statusText }), true);
      }
      input.value = "";
      choice.textContent = T.choose;
      // The address now names this video: a reload, or a bookmark, comes back to it.
      if (window.history && history.replaceState) history.replaceState(null, "", urlFor("page", data.id));
      follow(data.id);
    });
    request.addEventListener("error", function () {
      submit.disabled = false;
      showProgress(0, null);
      showStatus(T.network, true);
    });
    showStatus(say(T.uploading, { percent: 0 }));
    request.send(body);
  });

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function follow(id) {
    current = id;
    showStatus(T.queued);
    showProgress(0, 1);
    if (isUploader) {
      // The clip is served to its uploader alone; only they get a player.
      player.src = urlFor("clip", id);
      player.hidden = false;
    } else {
      player.hidden = true;
    }
    poll(id, 0);
  }

  function poll(id, failures) {
    fetch(urlFor("detail", id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404) throw { gone: true };
        if (!response.ok) throw { status: response.status };
        return response.json();
      })
      .then(function (video) {
        if (id !== current) return;
        render(video);
        if (["done", "failed", "no_model"].indexOf(video.status) === -1) {
          pollTimer = setTimeout(function () { poll(id, 0); }, 1000);
        }
      })
      .catch(function (problem) {
        if (id !== current) return;
        if (problem && problem.gone) return showStatus(T.gone, true);
        showStatus(T.network, true);
        // Back off up to 10 s: a busy server is not asked ever faster.
        const wait = Math.min(10000, 1000 * Math.pow(2, failures));
        pollTimer = setTimeout(function () { poll(id, failures + 1); }, wait);
      });
  }

  function render(video) {
    const done = video.progress.done;
    const total = video.progress.total;
    if (video.status === "queued") {
      showStatus(T.queued);
      showProgress(0, 1);
    } else if (video.status === "running") {
      if (total) {
        showStatus(say(T.progress, { done: done, total: total }));
        showProgress(done, total);
      } else {
        showStatus(T.decoding);
        showProgress(0, 1);
      }
    } else if (video.status === "failed") {
      showProgress(0, null);
      showStatus(say(T.failed, { reason: video.failure_reason }), true);
    } else if (video.status === "no_model") {
      showProgress(0, null);
      showStatus(T.no_model);
    } else if (video.status === "done") {
      showProgress(total, total);
      showStatus(say(T.done, { count: video.frames.length, segments: video.segments.length }));
      showResult(video);
    }
  }

  function showResult(video) {
    resultBox.hidden = false;
    drawChart(video);
    listSegments(video.segments);
    listKeyFrames(video.key_frames);
    showSharing(video);
  }

  function seek(seconds) {
    if (!isUploader) return;
    player.currentTime = seconds;
    // Chosen with a key or a click: show the segment playing (a browser may refuse autoplay; the player
    // then stays paused at the segment's start).
    const playing = player.play();
    if (playing && playing.catch) playing.catch(function () {});
    movePlayhead(seconds);
  }

  // --- the chart -------------------------------------------------------------------------------------

  function el(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A step of 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10 … min giving at most `most` ticks over `span` seconds.
  function tickStep(span, most) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
    for (let i = 0; i < steps.length; i++) if (span / steps[i] <= most) return steps[i];
    return steps[steps.length - 1];
  }

  function drawChart(video) {
    // Drawn at the box's own width, so that labels keep their size on a phone instead of shrinking.
    const width = Math.max(300, Math.min(960, chartBox.clientWidth || 640)), height = 240;
    const left = 44, right = 12, top = 12, bottom = 44;
    const plotW = width - left - right, plotH = height - top - bottom;
    const lastFrame = video.frames.length ? video.frames[video.frames.length - 1].t : 0;
    const duration = Math.max(video.duration_s || 0, lastFrame, 1);
    const x = function (t) { return left + (plotW * t) / duration; };
    const y = function (p) { return top + plotH * (1 - p); };
    const svg = el("svg", {
      viewBox: "0 0 " + width + " " + height, class: "chart timeline-svg", role: "group",
      "aria-labelledby": "video-chart-title",
    });
    svg.appendChild(el("title", { id: "video-chart-title" }, T.chart_title));

    // Segments first, under the line.
    video.segments.forEach(function (segment, index) {
      const label = segmentLabel(segment);
      const band = el("rect", {
        x: x(segment.start), y: top, width: Math.max(3, x(segment.end) - x(segment.start)), height: plotH,
        class: "segment", tabindex: "0", role: "button", "aria-label": label, "data-start": segment.start,
        "data-index": index,
      });
      band.appendChild(el("title", {}, label));
      band.addEventListener("click", function () { seek(segment.start); });
      band.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          seek(segment.start);
        }
      });
      svg.appendChild(band);
    });

    // Axes, ticks and labels.
    svg.appendChild(el("line", { x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH, class: "axis" }));
    svg.appendChild(el("line", { x1: left, y1: top, x2: left, y2: top + plotH, class: "axis" }));
    [0, 0.25, 0.5, 0.75, 1].forEach(function (p) {
      svg.appendChild(el("line", { x1: left - 4, y1: y(p), x2: left, y2: y(p), class: "axis" }));
      svg.appendChild(el("text", { x: left - 7, y: y(p) + 4, "text-anchor": "end", class: "tick" }, p.toFixed(2)));
    });
    const step = tickStep(duration, Math.max(3, Math.floor(plotW / 70)));
    for (let t = 0; t <= duration + 1e-6; t += step) {
      svg.appendChild(el("line", { x1: x(t), y1: top + plotH, x2: x(t), y2: top + plotH + 4, class: "axis" }));
      svg.appendChild(el("text", { x: x(t), y: top + plotH + 17, "text-anchor": "middle", class: "tick" }, clock(t)));
    }
    svg.appendChild(el("text", { x: left + plotW / 2, y: height - 6, "text-anchor": "middle", class: "axis-label" },
      T.axis_time));
    svg.appendChild(el("text", {
      x: 12, y: top + plotH / 2, "text-anchor": "middle", class: "axis-label",
      transform: "rotate(-90 12 " + (top + plotH / 2) + ")",
    }, T.axis_probability));

    // The threshold.
    svg.appendChild(el("line", { x1: left, y1: y(threshold), x2: left + plotW, y2: y(threshold), class: "threshold" }));
    svg.appendChild(el("text", { x: left + plotW - 2, y: y(threshold) - 4, "text-anchor": "end", class: "tick" },
      T.threshold + " " + threshold.toFixed(2)));

    // The probability of each sampled frame.
    if (video.frames.length) {
      const points = video.frames.map(function (f) { return x(f.t).toFixed(1) + "," + y(f.probability).toFixed(1); });
      svg.appendChild(el("polyline", { points: points.join(" "), class: "line" }));
      video.frames.forEach(function (f) {
        const dot = el("circle", { cx: x(f.t), cy: y(f.probability), r: 2.5, class: "frame" });
        dot.appendChild(el("title", {}, clock(f.t) + " — " + f.probability.toFixed(2)));
        svg.appendChild(dot);
      });
    }
    playhead = el("line", { x1: left, y1: top, x2: left, y2: top + plotH, class: "playhead" });
    playhead.dataset.left = left;
    playhead.dataset.width = plotW;
    playhead.dataset.duration = duration;
    svg.appendChild(playhead);
    chartBox.replaceChildren(svg);
  }

  function movePlayhead(seconds) {
    if (!playhead) return;
    const at = Number(playhead.dataset.left) +
      (Number(playhead.dataset.width) * seconds) / Number(playhead.dataset.duration);
    playhead.setAttribute("x1", at);
    playhead.setAttribute("x2", at);
  }

  player.addEventListener("timeupdate", function () { movePlayhead(player.currentTime); });

  // --- segments and key frames ------------------------------------------------------------------------

  function segmentLabel(segment) {
    return say(T.segment, { start: clock(segment.start), end: clock(segment.end),
      peak: segment.max_probability.toFixed(2) });
  }

  function listSegments(segments) {
    segmentList.replaceChildren();
    if (!segments.length) {
      const item = document.createElement("li");
      item.textContent = T.no_segments;
      segmentList.appendChild(item);
      return;
    }
    segments.forEach(function (segment) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "segment-button";
      button.dataset.start = segment.start;
      button.textContent = segmentLabel(segment);
      button.disabled = !isUploader;
      button.addEventListener("click", function () { seek(segment.start); });
      item.appendChild(button);
      segmentList.appendChild(item);
    });
  }

  function listKeyFrames(keyFrames) {
    keyFrameList.replaceChildren();
    keyFrames.forEach(function (frame) {
      const values = { t: clock(frame.t), p: frame.probability.toFixed(2) };
      const item = document.createElement("li");
      item.className = "key-frame";
      const pictures = document.createElement("div");
      pictures.className = "key-frame-pictures";
      [[frame.image_url, say(T.key_frame, values)], [frame.heatmap_url, say(T.heatmap, values)]].forEach(
        function (pair) {
          const img = document.createElement("img");
          img.src = pair[0];
          img.alt = pair[1];
          img.loading = "lazy";
          pictures.appendChild(img);
        });
      item.appendChild(pictures);
      const caption = document.createElement("p");
      caption.textContent = say(T.key_frame, values);
      item.appendChild(caption);
      if (isUploader) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = say(T.key_frame_play, values);
        button.addEventListener("click", function () { seek(frame.t); });
        item.appendChild(button);
      }
      keyFrameList.appendChild(item);
    });
  }

  // --- sharing frames with the crowd ------------------------------------------------------------------

  function showSharing(video) {
    if (!isUploader || !video.key_frames.length) {
      sharePanel.hidden = true;
      return;
    }
    sharePanel.hidden = false;
    if (!video.shared) {
      shareText.textContent = T.share_frames_unshared;
      shareButton.hidden = true;
    } else if (video.shared_frames.length) {
      shareText.textContent = say(T.share_frames_done, { count: video.shared_frames.length });
      shareButton.hidden = true;
    } else {
      shareText.textContent = T.share_frames_ready;
      shareButton.hidden = false;
    }
  }

  shareButton.addEventListener("click", function () {
    const id = current;
    shareButton.disabled = true;
    shareText.textContent = T.share_frames_sending;
    fetch(urlFor("share_frames", id), { method: "POST", credentials: "same-origin",
      headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { ok: response.ok, status: response.status, data: data };
        });
      })
      .then(function (answer) {
        shareButton.disabled = false;
        if (!answer.ok) {
          shareText.textContent = say(T.share_frames_failed, { reason: answer.data.detail || answer.status });
          return;
        }
        shareText.textContent = say(T.share_frames_done, { count: answer.data.frames.length });
        shareButton.hidden = true;
      })
      .catch(function () {
        shareButton.disabled = false;
        shareText.textContent = T.network;
      });
  });

  if (form.dataset.videoId) follow(form.dataset.videoId);
})();
