// The build page follows the running build: log lines as they are written, the status as it
// changes, and the Cancel/Retry buttons that fit it. The server's event stream sends an id with
// each line, so the browser resumes after the last line it has when it reconnects.
"use strict";

(function () {
  var FINAL = ["staged", "failed", "rejected", "superseded", "cancelled"];
  var FAILED = ["failed", "rejected", "cancelled"];
  var STEP = /^(Step \d+\/\d+ :|#\d+ \[|\$ )/;
  var FAILURE = /^(FAILED at |STOPPED during |REJECTED: |ERROR: )/;

  function start() {
    var live = document.getElementById("live");
    if (!live || !window.EventSource) { return; }
    var log = document.getElementById("log");
    var state = document.getElementById("log-state");
    var count = 0;
    var lastStep = null;
    var source = new EventSource(live.dataset.events);

    function atBottom() {
      return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    }

    function addLine(text) {
      var follow = atBottom();
      count += 1;
      var item = document.createElement("li");
      item.id = "L" + count;
      var anchor = document.createElement("a");
      anchor.href = "#L" + count;
      anchor.textContent = String(count);
      anchor.setAttribute("aria-label", "line " + count);
      var body = document.createElement("span");
      body.textContent = text;
      item.appendChild(anchor);
      item.appendChild(body);
      if (STEP.test(text)) { item.className = "step"; lastStep = item; }
      if (FAILURE.test(text)) { item.className = "failed-step"; }
      log.appendChild(item);
      if (location.hash === "#" + item.id) { item.scrollIntoView({block: "center"}); }
      else if (follow) { log.scrollTop = log.scrollHeight; }
    }

    function setStatus(status) {
      var node = document.getElementById("build-status");
      node.textContent = status;
      node.className = "status " + status;
      node.setAttribute("aria-label", "build status: " + status);
      var ended = FINAL.indexOf(status) >= 0;
      var cancel = document.getElementById("cancel-form");
      var retry = document.getElementById("retry-form");
      if (cancel) { cancel.hidden = ended; }
      if (retry) { retry.hidden = !ended; }
      state.textContent = ended ? "The build ended: " + status + "." : "Following the build (" + status + ")…";
    }

    source.onmessage = function (event) { addLine(event.data); };
    source.addEventListener("status", function (event) {
      setStatus(JSON.parse(event.data).status);
    });
    source.addEventListener("end", function (event) {
      var status = JSON.parse(event.data).status;
      source.close();
      setStatus(status);
      if (FAILED.indexOf(status) >= 0 && lastStep) { lastStep.className = "failed-step"; }
      live.dataset.ended = status;
      if (live.dataset.status !== status) {  // the page was drawn while it ran: offer the rest
        var again = document.createElement("a");
        again.href = location.pathname;
        again.textContent = "Reload for its gates, digest and promotion.";
        state.appendChild(document.createTextNode(" "));
        state.appendChild(again);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
}());
