// Metrics over time as inline SVG: one small chart per numeric series (category.name),
// x = time, y = value. Data comes from the page (#metrics-data) and from live events.
"use strict";
(function () {
  var box = document.getElementById("charts");
  var data = document.getElementById("metrics-data");
  if (!box || !data) return;
  var NS = "http://www.w3.org/2000/svg";
  var W = 320, H = 120, PAD = 6, MAX_POINTS = 2000;
  var series = {}; // key -> [[ts, value], ...]
  var order = [];

  function svg(tag, attrs) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function fmt(v) { return Math.abs(v) >= 1000 || v === Math.round(v) ? String(Math.round(v * 100) / 100) : v.toPrecision(4); }

  function add(point) {
    var values = point.values || {};
    Object.keys(values).forEach(function (name) {
      var v = values[name];
      if (typeof v !== "number" || !isFinite(v)) return;
      var key = point.category ? point.category + "." + name : name;
      if (!series[key]) { series[key] = []; order.push(key); }
      series[key].push([point.ts, v]);
      if (series[key].length > MAX_POINTS) series[key].shift();
    });
  }

  function chart(key, points) {
    var figure = document.createElement("figure");
    figure.className = "chart";
    figure.setAttribute("data-series", key);
    var caption = document.createElement("figcaption");
    var lastValue = points[points.length - 1][1];
    caption.textContent = key + " = " + fmt(lastValue);
    var xs = points.map(function (p) { return p[0]; }), ys = points.map(function (p) { return p[1]; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y1 = y0 + 1; y0 = y0 - 1; }
    var plot = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
                            "aria-label": key + " over time", preserveAspectRatio: "none" });
    plot.appendChild(svg("rect", { x: 0, y: 0, width: W, height: H, class: "chart-bg" }));
    var coords = points.map(function (p) {
      var x = PAD + (W - 2 * PAD) * (p[0] - x0) / (x1 - x0);
      var y = H - PAD - (H - 2 * PAD) * (p[1] - y0) / (y1 - y0);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    if (coords.length === 1) {
      var c = coords[0].split(",");
      plot.appendChild(svg("circle", { cx: c[0], cy: c[1], r: 3, class: "chart-dot" }));
    } else {
      plot.appendChild(svg("polyline", { points: coords.join(" "), class: "chart-line" }));
    }
    var top = svg("text", { x: W - PAD, y: 14, class: "chart-axis", "text-anchor": "end" });
    top.textContent = fmt(y1);
    var bottom = svg("text", { x: W - PAD, y: H - PAD - 2, class: "chart-axis", "text-anchor": "end" });
    bottom.textContent = fmt(y0);
    plot.appendChild(top);
    plot.appendChild(bottom);
    figure.appendChild(plot);
    figure.appendChild(caption);
    return figure;
  }

  var scheduled = false;
  function draw() {
    scheduled = false;
    if (!order.length) return;
    var fragment = document.createDocumentFragment();
    order.forEach(function (key) { fragment.appendChild(chart(key, series[key])); });
    box.replaceChildren(fragment);
    box.parentNode.classList.remove("empty");
  }

  JSON.parse(data.textContent || "[]").forEach(add);
  draw();
  window.HoistChart = {
    add: function (event) {
      add(event);
      if (!scheduled) { scheduled = true; window.requestAnimationFrame(draw); }
    },
  };
})();
