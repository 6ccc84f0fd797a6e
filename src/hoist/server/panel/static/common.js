// Shared by every panel page: the forms' Cancel buttons and confirmations.
"use strict";
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest('[data-action="cancel"]');
    if (!button) return;
    event.preventDefault();
    if (window.history.length > 1) window.history.back();
    else window.location.assign("/plugins");
  });
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    // A one-click form (Run again, Retry) posts once: a double click starts one run.
    if (event.target.hasAttribute && event.target.hasAttribute("data-once")) {
      var buttons = event.target.querySelectorAll("button[type=submit]");
      window.setTimeout(function () {
        buttons.forEach(function (b) { b.disabled = true; });
      }, 0);
    }
  });
})();

// Helpers the live pages share (window.Hoist).
window.Hoist = {
  el: function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text); // never HTML
    return node;
  },
  setBar: function (bar, percent, state) {
    if (!bar) return;
    var progress = bar.querySelector("progress");
    var label = bar.querySelector(".bar-pct");
    if (percent === null || percent === undefined) {
      progress.removeAttribute("value");
      if (label) label.textContent = state || "";
    } else {
      var value = Math.max(0, Math.min(100, Math.round(percent * 10) / 10));
      progress.value = value;
      progress.textContent = value + "%";
      if (label) label.textContent = value + "%";
    }
    if (state) {
      bar.className = bar.className.replace(/\bstate-\S+/, "state-" + state.replace(/ /g, "-"));
    }
  },
  setBadge: function (badge, status) {
    if (!badge) return;
    badge.textContent = status;
    badge.className = "badge status-" + status;
  },
  TERMINAL: ["succeeded", "failed", "cancelled", "lost"],
};
