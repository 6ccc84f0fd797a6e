// A run's page, live: its events arrive on /api/v1/runs/{id}/events/stream (from the
// last seq the page rendered: nothing is missed or shown twice; EventSource resumes
// with Last-Event-ID after a dropped connection). Log lines are built as text; the
// sections that need the server (bars of child runs, sanitised messages, result,
// artifacts) are re-rendered by /runs/{id}/parts and swapped in.
"use strict";
(function () {
  var H = window.Hoist;
  var root = document.getElementById("run");
  if (!root) return;
  var runId = root.getAttribute("data-run-id");
  var base = "/runs/" + encodeURIComponent(runId);
  var api = "/api/v1/runs/" + encodeURIComponent(runId);
  var first = Number(root.getAttribute("data-first-seq"));
  var last = Number(root.getAttribute("data-last-seq"));
  var lines = document.getElementById("log-lines");
  var MAX_LINES = 1000;
  var PAGE = 200;
  var TYPES = ["status", "progress", "metrics", "log", "message", "dev", "custom", "step",
               "artifact", "checkpoint", "result", "error"];

  function num(v) { return typeof v === "number" ? String(Math.round(v * 1e6) / 1e6) : String(v); }
  function json(v) {
    var text = JSON.stringify(v);
    return text && text.length > 500 ? text.slice(0, 499) + "…" : String(text);
  }
  // Mirrors hoist/server/panel/events.py.
  function text(e) {
    switch (e.type) {
      case "status": return "status → " + e.status;
      case "progress": return (e.category || "progress") + " " + num(e.current) + " / " + num(e.total);
      case "metrics":
        var values = Object.keys(e.values).map(function (k) { return k + "=" + num(e.values[k]); }).join(", ");
        return e.category ? e.category + ": " + values : values;
      case "log": return e.message;
      case "message": return e.text;
      case "dev": case "custom": return e.name + " " + json(e.data);
      case "step": return e.step + " " + e.phase + (e.detail ? ": " + e.detail : "");
      case "artifact": return e.name || e.path;
      case "checkpoint": return e.name;
      case "result": return json(e.value);
      case "error": return e.error_type + ": " + e.message;
      default: return json(e);
    }
  }
  function level(e) {
    if (e.type === "log" || e.type === "message") return String(e.level).toLowerCase();
    return e.type === "error" ? "error" : "info";
  }
  function clock(ts) {
    var d = new Date(ts * 1000);
    return d.toISOString().slice(11, 23);
  }
  function line(e) {
    var li = H.el("li", "ev ev-" + e.type + " lvl-" + level(e).replace(/[^a-z]/g, ""));
    li.setAttribute("data-seq", e.seq);
    li.appendChild(H.el("span", "seq", e.seq));
    var time = H.el("time", null, clock(e.ts));
    li.appendChild(time);
    li.appendChild(H.el("span", "type", e.type));
    li.appendChild(H.el("span", "text", text(e)));
    return li;
  }

  // ------------------------------------------------------------------ earlier events
  function earlierLink() { return document.getElementById("load-earlier"); }
  function setFirst(seq) {
    first = seq;
    var link = earlierLink();
    if (!link) return;
    if (first <= 1) link.parentNode.remove();
    else link.href = base + "?before=" + first;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#load-earlier");
    if (!link || !window.fetch) return;
    event.preventDefault();
    var count = Math.min(PAGE, first - 1);
    var after = first - 1 - count;
    fetch(api + "/events?after=" + after + "&limit=" + count, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (page) {
        var fragment = document.createDocumentFragment();
        page.events.forEach(function (e) { fragment.appendChild(line(e)); });
        lines.insertBefore(fragment, lines.firstChild);
        setFirst(after + 1);
      })
      .catch(function () { window.location.assign(link.href); });
  });

  // ------------------------------------------------------------------ server-rendered parts
  var pending = null, lastRefresh = 0;
  function refreshParts(now) {
    if (pending) return;
    var wait = now ? 0 : Math.max(0, 700 - (Date.now() - lastRefresh));
    pending = window.setTimeout(function () {
      lastRefresh = Date.now();
      fetch(base + "/parts", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          ["part-header", "part-progress", "part-messages", "part-outcome"].forEach(function (id) {
            var fresh = doc.getElementById(id), old = document.getElementById(id);
            if (fresh && old) old.replaceWith(document.importNode(fresh, true));
          });
        })
        .catch(function () {})
        .then(function () { pending = null; });
    }, wait);
  }

  // ------------------------------------------------------------------ live events
  if (root.getAttribute("data-live") !== "true" || root.getAttribute("data-terminal") === "true") {
    return;
  }
  var total = document.getElementById("log-total");
  var stream = new EventSource(api + "/events/stream?after=" + last);
  function onEvent(message) {
    var e = JSON.parse(message.data);
    if (e.seq <= last) return;
    last = e.seq;
    lines.appendChild(line(e));
    if (total) total.textContent = String(last);
    while (lines.children.length > MAX_LINES) {
      lines.removeChild(lines.firstChild);
      setFirst(Number(lines.firstChild.getAttribute("data-seq")));
      if (!earlierLink()) {
        var p = H.el("p"), a = H.el("a", null, "Load earlier events");
        a.id = "load-earlier";
        a.href = base + "?before=" + first;
        p.appendChild(a);
        lines.parentNode.insertBefore(p, lines);
      }
    }
    if (e.type === "progress" && !e.category) {
      H.setBar(document.querySelector('#part-progress [data-bar="overall"]'),
               e.total > 0 ? 100 * e.current / e.total : 0, "running");
    }
    if (e.type === "metrics" && window.HoistChart) window.HoistChart.add(e);
    if (e.type === "status") {
      H.setBadge(document.querySelector("#part-header [data-status-badge]"), e.status);
      if (H.TERMINAL.indexOf(e.status) >= 0) {
        stream.close(); // the stream has ended: do not let EventSource reconnect
        root.setAttribute("data-terminal", "true");
        window.clearInterval(poll);
        refreshParts(true);
        return;
      }
    }
    if (e.type !== "log" && e.type !== "checkpoint" && e.type !== "dev") refreshParts(false);
  }
  TYPES.forEach(function (type) { stream.addEventListener(type, onEvent); });
  // A pipeline's action runs log to their own streams: refresh its tree while it runs.
  var poll = root.getAttribute("data-has-tree") === "true"
    ? window.setInterval(function () { if (!document.hidden) refreshParts(false); }, 1500)
    : 0;
  window.addEventListener("pagehide", function () { stream.close(); });
})();
