// What every page does once loaded: times in the viewer's zone, scrollable tables reachable.
"use strict";

// Times come from the server in UTC; show them in the viewer's time zone (UTC stays on hover).
function showLocalTimes(root) {
  root.querySelectorAll("time[datetime]").forEach(function (node) {
    var moment = new Date(node.getAttribute("datetime"));
    if (isNaN(moment.getTime()) || node.dataset.local) { return; }
    node.title = node.getAttribute("datetime").replace("T", " ").replace("Z", " UTC");
    node.textContent = moment.toLocaleString(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    });
    node.dataset.local = "1";
  });
}

// A table wider than a narrow screen scrolls inside its frame: let the keyboard reach it.
function focusableScrolling(root) {
  root.querySelectorAll(".table-wrap").forEach(function (frame) {
    if (frame.scrollWidth <= frame.clientWidth) { return; }
    var table = frame.querySelector("table");
    frame.tabIndex = 0;
    frame.setAttribute("role", "region");
    frame.setAttribute("aria-label", (table && table.id ? table.id.replace(/-/g, " ") : "table") +
                       " (scrolls sideways)");
  });
}

document.addEventListener("DOMContentLoaded", function () {
  showLocalTimes(document);
  focusableScrolling(document);
});
