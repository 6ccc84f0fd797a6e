// A run's page, live: its events arrive on /api/v1/runs/{id}/events/stream (from the
// last seq the page rendered: nothing is missed or shown twice; EventSource resumes
// with Last-Event-ID after a dropped connection). Each frame carries the event's summary,
// shown as text; earlier lines come from /runs/{id}/log, rendered by the server; the
// sections that need the server (bars of child runs, sanitised messages, result,
// artifacts, files, an open lock's form) are re-rendered by /runs/{id}/parts and swapped
// in. Outputs (a service's markdown, html, text, results) are rendered and sanitised by
// the server too: new ones come from /runs/{id}/outputs?after=<last shown> and are
// appended, never built here.
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
  var OUTPUT_LINE_MAX = 300; // as hoist.server.panel.events.OUTPUT_LINE_MAX
  var TYPES = ["status", "progress", "metrics", "log", "message", "dev", "custom", "step",
               "artifact", "checkpoint", "output", "lock", "result", "error"];

  // The text of a line is the event's own summary, sent by the server in every frame
  // (EventBase.summary: the same text the CLI and the page show); only style is ours.
  function level(e) {
    var found = e.type === "error" ? "error" : String(e.level || "info").toLowerCase();
    return found.replace(/[^a-z]/g, "").slice(0, 20) || "info";
  }
  function clock(ts) {
    var d = new Date(ts * 1000);
    return d.toISOString().slice(11, 23);
  }
  function text(e) {
    if (e.type !== "output") return e.summary;
    var chars = Array.from(String(e.summary)); // code points, as Python counts
    return chars.length > OUTPUT_LINE_MAX ? chars.slice(0, OUTPUT_LINE_MAX).join("") + "\u2026"
                                          : e.summary;
  }
  function line(e) {
    var li = H.el("li", "ev ev-" + e.type + " lvl-" + level(e));
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
    fetch(base + "/log?before=" + first, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html").getElementById("log-page");
        var fragment = document.createDocumentFragment();
        Array.prototype.forEach.call(page.children, function (li) {
          fragment.appendChild(document.importNode(li, true));
        });
        lines.insertBefore(fragment, lines.firstChild);
        setFirst(Number(page.getAttribute("data-first-seq")));
      })
      .catch(function () { window.location.assign(link.href); });
  });

  // ------------------------------------------------------------------ outputs
  // Server-rendered items (sanitised there) moved in with importNode: no markup is ever
  // built from an event's text here. The newest MAX_OUTPUTS stay; older ones on demand.
  var outSection = document.getElementById("part-outputs");
  var outList = document.getElementById("outputs");
  var MAX_OUTPUTS = 300;
  if (outList) outList.scrollTop = outList.scrollHeight; // the newest first in view
  function outputsPage(html) {
    return new DOMParser().parseFromString(html, "text/html").getElementById("outputs-page");
  }
  function outputItems(page) {
    var fragment = document.createDocumentFragment();
    Array.prototype.forEach.call(page.children, function (li) {
      fragment.appendChild(document.importNode(li, true));
    });
    return fragment;
  }
  function setOutputsFirst(seq, hasEarlier) {
    outList.setAttribute("data-first-seq", seq);
    var link = document.getElementById("outputs-earlier");
    link.href = base + "/outputs?before=" + seq;
    link.parentNode.hidden = !hasEarlier;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#outputs-earlier");
    if (!link || !window.fetch) return;
    event.preventDefault();
    fetch(link.href, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var page = outputsPage(html);
        if (!page) return;
        outList.insertBefore(outputItems(page), outList.firstChild);
        var first = outList.firstElementChild;
        setOutputsFirst(first ? first.getAttribute("data-seq") : 0,
                        page.getAttribute("data-has-earlier") === "true");
      })
      .catch(function () {});
  });
  var outPending = null, outAgain = false, outLast = 0;
  function refreshOutputs() {
    if (!outList) return;
    if (outPending) { outAgain = true; return; }
    var wait = Math.max(0, 300 - (Date.now() - outLast));
    outPending = window.setTimeout(function () {
      outLast = Date.now();
      var after = Number(outList.getAttribute("data-last-seq")) || 0;
      fetch(base + "/outputs?after=" + after, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var page = outputsPage(html);
          if (!page || !page.children.length) return;
          var atEnd = outList.scrollHeight - outList.scrollTop - outList.clientHeight < 40;
          var gap = page.getAttribute("data-gap") === "true";
          if (gap) { // more arrived than one page: show the newest, the rest on demand
            while (outList.firstChild) outList.removeChild(outList.firstChild);
          }
          var empty = !outList.firstElementChild;
          outList.appendChild(outputItems(page));
          outList.setAttribute("data-last-seq", page.getAttribute("data-last-seq"));
          if (empty) setOutputsFirst(page.getAttribute("data-first-seq"), gap);
          while (outList.children.length > MAX_OUTPUTS) {
            outList.removeChild(outList.firstElementChild);
            setOutputsFirst(outList.firstElementChild.getAttribute("data-seq"), true);
          }
          outSection.hidden = false;
          var none = document.getElementById("no-outputs");
          if (none) none.hidden = true;
          if (atEnd) outList.scrollTop = outList.scrollHeight;
        })
        .catch(function () {})
        .then(function () {
          outPending = null;
          if (outAgain) { outAgain = false; refreshOutputs(); }
        });
    }, wait);
  }

  // ------------------------------------------------------------------ server-rendered parts
  var pending = null, lastRefresh = 0, partsAgain = false;
  function refreshParts(now) {
    if (pending) { partsAgain = true; return; }
    var wait = now ? 0 : Math.max(0, 700 - (Date.now() - lastRefresh));
    pending = window.setTimeout(function () {
      lastRefresh = Date.now();
      fetch(base + "/parts", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          ["part-header", "part-locks", "part-progress", "part-messages", "part-outcome",
           "part-files", "part-dag", "part-timeline"].forEach(function (id) {
            var fresh = doc.getElementById(id), old = document.getElementById(id);
            if (!fresh || !old) return;
            // A lock's form being filled in is replaced only when its locks changed.
            if (id === "part-locks" && fresh.getAttribute("data-version") ===
                old.getAttribute("data-version")) return;
            old.replaceWith(document.importNode(fresh, true));
          });
        })
        .catch(function () {})
        .then(function () {
          pending = null;
          if (partsAgain) { partsAgain = false; refreshParts(false); }
        });
    }, wait);
  }

  // ------------------------------------------------------------------ progress
  // A main progress event moves the overall bar (not a pipeline's: its overall is the
  // mean of its nodes, hoist.pipelines.progress.overall_percent, re-rendered with the
  // parts) and the running step's bar: the step orchestrator reports a step's progress on
  // the main bar, from the share of the steps before it (data-step-base) to that plus
  // its own share (data-step-weight). Percents are whole numbers, as the CLI prints them.
  function shown(percent) { // as Python's round(): halves go to the even number
    var r = Math.round(percent);
    return percent % 1 === 0.5 && r % 2 ? r - 1 : r;
  }
  function progress(e) {
    var main = e.total > 0 ? 100 * e.current / e.total : 0;
    if (root.getAttribute("data-kind") !== "pipeline") {
      H.setBar(document.querySelector('#part-progress [data-bar="overall"]'),
               shown(main), "running");
    }
    var steps = document.querySelectorAll("#run-steps > li[data-step-weight]");
    Array.prototype.forEach.call(steps, function (li) {
      var bar = li.querySelector(".bar.state-running");
      var weight = Number(li.getAttribute("data-step-weight"));
      if (!bar || !(weight > 0)) return;
      var share = 100 * (main - Number(li.getAttribute("data-step-base"))) / weight;
      H.setBar(bar, shown(Math.max(0, Math.min(100, share))), "running");
    });
  }

  // ------------------------------------------------------------------ live events
  if (root.getAttribute("data-live") !== "true" || root.getAttribute("data-terminal") === "true") {
    return;
  }
  var total = document.getElementById("log-total");
  var stream = null, retry = 0;
  function onEvent(message) {
    // The "error" listener also hears EventSource's own connection errors (no data).
    if (typeof message.data !== "string") return;
    var e = JSON.parse(message.data);
    if (e.seq <= last) return;
    last = e.seq;
    lines.appendChild(line(e));
    if (total) total.textContent = String(last);
    while (lines.children.length > MAX_LINES) {
      lines.removeChild(lines.firstElementChild);
      setFirst(Number(lines.firstElementChild.getAttribute("data-seq")));
      if (!earlierLink()) {
        var p = H.el("p"), a = H.el("a", null, "Load earlier events");
        a.id = "load-earlier";
        a.href = base + "?before=" + first;
        p.appendChild(a);
        lines.parentNode.insertBefore(p, lines);
      }
    }
    if (e.type === "progress" && !e.category) progress(e);
    document.dispatchEvent(new CustomEvent("hoist:event", { detail: e })); // dag.js listens
    if (e.type === "metrics" && window.HoistChart) window.HoistChart.add(e);
    if (e.type === "status") {
      H.setBadge(document.querySelector("#part-header [data-status-badge]"), e.status);
      if (H.TERMINAL.indexOf(e.status) >= 0) {
        stream.close(); // the stream has ended: do not let EventSource reconnect
        root.setAttribute("data-terminal", "true");
        window.clearInterval(poll);
        refreshParts(true);
        refreshOutputs();
        return;
      }
    }
    if (e.type === "lock") refreshParts(true); // a question opened or was answered
    else if (e.type === "output") refreshOutputs();
    else if (e.type !== "log" && e.type !== "checkpoint" && e.type !== "dev") refreshParts(false);
  }
  // EventSource reconnects by itself after a dropped connection, but gives up on an
  // answer it cannot use (a 5xx, a proxy's page): then reopen from the last seq seen,
  // backing off, and re-render the parts so nothing that happened meanwhile is missed.
  function connect() {
    stream = new EventSource(api + "/events/stream?after=" + last);
    TYPES.forEach(function (type) { stream.addEventListener(type, onEvent); });
    stream.addEventListener("open", function () { retry = 0; });
    stream.addEventListener("error", function () {
      if (stream.readyState !== EventSource.CLOSED) return;
      if (root.getAttribute("data-terminal") === "true") return;
      retry = Math.min(retry + 1, 6);
      window.setTimeout(function () {
        refreshParts(true);
        refreshOutputs();
        connect();
      }, 500 * retry);
    });
  }
  connect();
  refreshOutputs(); // outputs recorded between the page's reads and the stream's start
  // A pipeline's action runs log to their own streams: refresh its tree while it runs.
  var poll = root.getAttribute("data-has-tree") === "true"
    ? window.setInterval(function () { if (!document.hidden) refreshParts(false); }, 1500)
    : 0;
  window.addEventListener("pagehide", function () { stream.close(); });
})();
