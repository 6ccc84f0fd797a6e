// The run page's log filter: by type and by level, progress events folded away by
// default (their count shown; one tick shows them). Only the log's classes change, and
// stylesheet rules (charts.css) hide lines, so lines the stream appends and earlier
// pages loaded on demand are filtered the same way.
"use strict";
(function () {
  var H = window.Hoist;
  var lines = document.getElementById("log-lines");
  if (!lines) return;
  var TYPES = ["status", "log", "message", "metrics", "progress", "step", "artifact",
               "checkpoint", "output", "lock", "result", "error", "custom", "dev"];
  var LEVELS = [["", "all levels"], ["info", "info and up"], ["warning", "warnings and errors"],
                ["error", "errors only"]];

  function select(name, label, options) {
    var wrap = H.el("label", null, label + " ");
    var box = H.el("select");
    box.setAttribute(name, "");
    options.forEach(function (o) {
      var option = H.el("option", null, o[1]);
      option.value = o[0];
      box.appendChild(option);
    });
    wrap.appendChild(box);
    return [wrap, box];
  }

  var bar = H.el("div", "log-filter");
  bar.id = "log-filter";
  var type = select("data-log-type", "Type", [["", "all types"]].concat(
    TYPES.map(function (t) { return [t, t]; })));
  var level = select("data-log-level", "Level", LEVELS);
  var fold = H.el("label");
  var show = H.el("input");
  show.type = "checkbox";
  show.setAttribute("data-log-progress", "");
  fold.appendChild(show);
  var count = H.el("span", null, "");
  count.setAttribute("data-log-progress-count", "");
  fold.appendChild(count);
  [type[0], level[0], fold].forEach(function (n) { bar.appendChild(n); });
  lines.parentNode.insertBefore(bar, lines);

  function apply() {
    var t = type[1].value, l = level[1].value;
    if (t) lines.setAttribute("data-type", t);
    else lines.removeAttribute("data-type");
    lines.classList.remove("min-info", "min-warning", "min-error");
    if (l) lines.classList.add("min-" + l);
    lines.classList.toggle("hide-progress", !show.checked && t !== "progress");
  }
  function counted() {
    var n = lines.querySelectorAll(":scope > .ev-progress").length;
    count.textContent = " show progress (" + n + (show.checked ? " shown)" : " folded)");
  }
  [type[1], level[1], show].forEach(function (n) {
    n.addEventListener("change", function () { apply(); counted(); });
  });
  new MutationObserver(counted).observe(lines, { childList: true });
  apply();
  counted();
})();
