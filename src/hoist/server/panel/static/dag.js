// A pipeline run's graph and timeline, live. Both are SVG drawn by the server
// (templates/parts/dag.html, timeline.html) and re-rendered with the page's parts; in
// between, this recolours a node the moment its step event arrives (run.js re-dispatches
// every event of the run's stream as "hoist:event") and stretches the timeline's bars
// still going to now. Only classes and geometry attributes change: no markup is built.
"use strict";
(function () {
  var root = document.getElementById("run");
  if (!root || root.getAttribute("data-kind") !== "pipeline") return;
  var PHASE = { started: "running", finished: "done", skipped: "done", failed: "failed",
                cancelled: "cancelled" }; // as hoist.server.panel.digest._PHASE
  var SUB = { running: "running", done: "done", failed: "failed", cancelled: "cancelled" };

  function setState(el, state) {
    if (!el) return;
    var cls = el.getAttribute("class") || "";
    el.setAttribute("class", cls.replace(/\bstate-\S+/, "state-" + state));
  }
  function byNode(selector, key) {
    var found = [];
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (el) {
      if (el.getAttribute("data-node") === key) found.push(el);
    });
    return found;
  }
  function onStep(key, state) {
    byNode("#dag g.dag-node", key).forEach(function (g) {
      setState(g, state);
      var sub = g.querySelector("text.sub");
      if (sub) sub.textContent = SUB[state] || state;
      if (state === "done") {
        var done = g.querySelector("rect.done"), box = g.querySelector("rect.box");
        if (done && box) done.setAttribute("width", box.getAttribute("width"));
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("#dag path.edge"), function (p) {
      if (p.getAttribute("data-from") === key) setState(p, state);
    });
    byNode("#timeline g.tl-row", key).forEach(function (g) {
      setState(g, state);
      if (state !== "running" && !g.getAttribute("data-end")) {
        g.setAttribute("data-end", String(Date.now() / 1000));
      }
    });
  }
  document.addEventListener("hoist:event", function (event) {
    var e = event.detail;
    if (!e || e.type !== "step" || !PHASE[e.phase]) return;
    onStep(String(e.step), PHASE[e.phase]);
  });

  // Bars still going end at "now"; the axis is the server's (to its t1) until the next
  // render widens it, so a bar stops at the chart's right edge meanwhile.
  function stretch() {
    var svg = document.getElementById("timeline");
    if (!svg || document.hidden) return;
    var t0 = Number(svg.getAttribute("data-t0")), t1 = Number(svg.getAttribute("data-t1"));
    var x0 = Number(svg.getAttribute("data-x0")), w = Number(svg.getAttribute("data-w"));
    if (!(t1 > t0)) return;
    var now = Date.now() / 1000, scale = w / (t1 - t0);
    Array.prototype.forEach.call(svg.querySelectorAll("g.tl-row"), function (g) {
      var start = Number(g.getAttribute("data-start")), end = g.getAttribute("data-end");
      if (!start || end) return;
      var bar = g.querySelector("rect.tl-bar");
      var x = x0 + (start - t0) * scale;
      bar.setAttribute("width", String(Math.max(2, Math.min(x0 + w - x, (now - start) * scale))));
    });
  }
  if (root.getAttribute("data-terminal") !== "true") window.setInterval(stretch, 1000);
})();
