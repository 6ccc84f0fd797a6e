// Metrics charts (the run page, the compare page): one chart per metric with axes, hover
// values, every source overlaid (a run, a pipeline's action runs, the compared runs),
// step or time on x and an EMA smoothing slider. Counters (epoch, step, ...) are the x
// axis, never a line; a metric with one value per source is shown as a number.
// Drawn by plotly.js, served by the panel itself (hoist.server.panel.charts) and loaded
// only when there is something to plot. Data: the section's JSON ({"runs": [...]}), the
// run page's live events (window.HoistChart.add) and, for a pipeline, its metrics URL
// polled while it runs.
"use strict";
(function () {
  var COUNTERS = ["step", "global_step", "epoch", "iteration", "iter", "batch", "trial"];
  var COLORS = ["#2457c5", "#d9622b", "#1f8a4c", "#8e44ad", "#c23b32", "#17a2b8",
                "#b7791f", "#5d6d7e", "#e84393", "#2d3436"];
  var MAX_POINTS = 5000;
  var waiting = null; // callbacks while plotly.js loads

  function withPlotly(url, done, failed) {
    if (window.Plotly) { done(); return; }
    if (waiting) { waiting.push([done, failed]); return; }
    waiting = [[done, failed]];
    var script = document.createElement("script");
    script.src = url;
    script.onload = function () {
      var all = waiting; waiting = null;
      all.forEach(function (pair) { pair[0](); });
    };
    script.onerror = function () {
      var all = waiting; waiting = null;
      all.forEach(function (pair) { pair[1](); });
    };
    document.head.appendChild(script);
  }

  function fmt(v) {
    if (Number.isInteger(v)) return String(v);
    var a = Math.abs(v);
    return a >= 1e5 || (a > 0 && a < 1e-3) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }

  function ema(ys, weight) {
    if (!weight) return ys.slice();
    var out = [], last = 0;
    ys.forEach(function (y, i) {
      last = last * weight + (1 - weight) * y;
      out.push(last / (1 - Math.pow(weight, i + 1))); // debiased, as TensorBoard does
    });
    return out;
  }

  // {key: [{source, index, counter, xs: {step, time}, ys}]} in first-seen key order.
  function model(sources) {
    var keys = [], found = {};
    sources.forEach(function (source, index) {
      var raw = {};
      (source.points || []).forEach(function (p) {
        var values = p.values || {};
        Object.keys(values).forEach(function (name) {
          var v = values[name];
          if (COUNTERS.indexOf(name) >= 0 || typeof v !== "number" || !isFinite(v)) return;
          var key = p.category ? p.category + "/" + name : name;
          if (!found[key]) { found[key] = []; keys.push(key); }
          (raw[key] = raw[key] || []).push([p, v]);
        });
      });
      Object.keys(raw).forEach(function (key) {
        var entries = raw[key].slice(-MAX_POINTS);
        var counter = COUNTERS.filter(function (c) {
          return entries.every(function (e) { return typeof e[0].values[c] === "number"; });
        })[0] || null;
        var start = typeof source.start === "number" ? source.start : entries[0][0].ts;
        found[key].push({
          source: source, index: index, counter: counter,
          xs: {
            step: entries.map(function (e, i) { return counter ? e[0].values[counter] : i + 1; }),
            time: entries.map(function (e) { return Math.round((e[0].ts - start) * 1000) / 1000; }),
          },
          ys: entries.map(function (e) { return e[1]; }),
        });
      });
    });
    return { keys: keys, series: found };
  }

  function Charts(section) {
    var self = this;
    this.section = section;
    this.box = section.querySelector("[data-chart-box]");
    this.values = section.querySelector("[data-chart-values]");
    this.controls = section.querySelector(".chart-controls");
    this.xSelect = section.querySelector("[data-chart-x]");
    this.smooth = section.querySelector("[data-chart-smooth]");
    this.smoothValue = section.querySelector("[data-chart-smooth-value]");
    this.liveRun = section.getAttribute("data-live-run");
    this.lib = section.getAttribute("data-lib");
    var data = JSON.parse(section.querySelector("[data-chart-data]").textContent || "{}");
    this.sources = data.runs || [];
    this.divs = {};
    this.timer = null;
    this.xSelect.addEventListener("change", function () { self.draw(); });
    this.smooth.addEventListener("input", function () {
      self.smoothValue.textContent = self.smooth.value;
      self.schedule(50);
    });
    this.draw();
    var source = section.getAttribute("data-source");
    if (source) this.poll(source, data.terminal);
  }

  Charts.prototype.poll = function (url, terminal) {
    var self = this;
    function again() {
      if (!document.hidden) self.fetch(url, again);
      else window.setTimeout(again, 2000);
    }
    this.fetch(url, terminal ? null : again);
  };

  Charts.prototype.fetch = function (url, then) {
    var self = this;
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        self.sources = data.runs || [];
        self.draw();
        if (then && !data.terminal) window.setTimeout(then, 2000);
      })
      .catch(function () { if (then) window.setTimeout(then, 5000); });
  };

  Charts.prototype.add = function (event) {
    var id = event.run_id || this.liveRun;
    var source = this.sources.filter(function (s) { return s.id === id; })[0];
    if (!source) {
      source = { id: id, label: id.slice(-8), start: event.ts, points: [] };
      this.sources.unshift(source);
    }
    source.points.push({ seq: event.seq, ts: event.ts, category: event.category,
                         values: event.values || {} });
    if (source.points.length > MAX_POINTS) source.points.shift();
    this.schedule(250);
  };

  Charts.prototype.schedule = function (ms) {
    var self = this;
    if (this.timer) return;
    this.timer = window.setTimeout(function () { self.timer = null; self.draw(); }, ms);
  };

  Charts.prototype.tile = function (key, list) {
    var H = window.Hoist;
    var tile = H.el("div", "chart-value");
    tile.setAttribute("data-series", key);
    tile.appendChild(H.el("span", "chart-value-name", key));
    list.forEach(function (s) {
      var line = H.el("span", "chart-value-number", fmt(s.ys[0]));
      if (list.length > 1 || this.sources.length > 1) {
        line.title = s.source.label;
        line.appendChild(H.el("small", "muted", " " + s.source.label));
      }
      tile.appendChild(line);
    }, this);
    return tile;
  };

  Charts.prototype.draw = function () {
    var self = this;
    var m = model(this.sources);
    var plotted = [], tiles = [];
    m.keys.forEach(function (key) {
      var list = m.series[key];
      var single = list.every(function (s) { return s.ys.length === 1; });
      (single ? tiles : plotted).push(key);
    });
    this.values.replaceChildren.apply(this.values, tiles.map(function (k) {
      return self.tile(k, m.series[k]);
    }));
    var empty = !plotted.length && !tiles.length;
    this.section.classList.toggle("empty", empty);
    var note = this.box.querySelector("[data-chart-empty]");
    if (note) note.textContent = empty ? "No metrics yet." : "";
    if (note && !empty) note.remove();
    this.section.classList.toggle("has-charts", plotted.length > 0);
    if (!plotted.length) return;
    withPlotly(this.lib, function () {
      self.controls.hidden = false;
      plotted.forEach(function (key) { self.plot(key, m.series[key]); });
    }, function () {
      self.box.replaceChildren(window.Hoist.el("p", "muted",
        "The charts could not load plotly.js (install hoist[server] on the server)."));
    });
  };

  Charts.prototype.plot = function (key, list) {
    var div = this.divs[key];
    if (!div) {
      div = this.divs[key] = window.Hoist.el("div", "metric-chart");
      div.setAttribute("data-series", key);
      this.box.appendChild(div);
    }
    var xmode = this.xSelect.value, weight = Number(this.smooth.value) || 0;
    var multi = this.sources.length > 1;
    var traces = [];
    list.forEach(function (s) {
      var color = COLORS[s.index % COLORS.length];
      var xs = s.xs[xmode];
      var few = s.ys.length <= 40;
      if (weight) {
        traces.push({ x: xs, y: s.ys, type: "scatter", mode: "lines", name: s.source.label,
                      line: { color: color, width: 1 }, opacity: 0.25, hoverinfo: "skip",
                      showlegend: false });
      }
      traces.push({
        x: xs, y: ema(s.ys, weight), type: "scatter", mode: few ? "lines+markers" : "lines",
        name: s.source.label, line: { color: color, width: 2 }, marker: { size: 5 },
        hovertemplate: "%{y:.4~g}<extra>" + (multi ? s.source.label.replace(/[<>&]/g, "") : "")
          + "</extra>",
      });
    });
    var counters = list.map(function (s) { return s.counter || "step"; });
    var same = counters.every(function (c) { return c === counters[0]; });
    var xtitle = xmode === "time" ? "seconds since start" : (same ? counters[0] : "step");
    var layout = {
      title: { text: key, font: { size: 13 }, x: 0.02 },
      height: 260, margin: { l: 52, r: 12, t: 32, b: multi ? 70 : 42 },
      xaxis: { title: { text: xtitle, standoff: 6 }, zeroline: false, automargin: true },
      yaxis: { zeroline: false, automargin: true, tickformat: ".4~g" },
      hovermode: multi ? "x" : "x unified", showlegend: multi,
      hoverlabel: { bgcolor: "#ffffff", bordercolor: "#dde1e6", font: { color: "#1d232b" } },
      legend: { orientation: "h", y: -0.35 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#f8f9fb",
      font: { family: "system-ui, sans-serif", size: 11, color: "#1d232b" },
    };
    window.Plotly.react(div, traces, layout, { displayModeBar: false, responsive: true });
  };

  var live = null;
  Array.prototype.forEach.call(document.querySelectorAll("[data-charts]"), function (section) {
    var charts = new Charts(section);
    if (section.getAttribute("data-live-run")) live = charts;
  });
  window.HoistChart = { add: function (event) { if (live) live.add(event); } };
})();
