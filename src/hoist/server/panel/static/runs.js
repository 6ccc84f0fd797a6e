// The runs list: statuses from the all-runs SSE stream (/api/v1/runs/stream), bars
// refreshed from /panel/bars while some listed run is still active.
"use strict";
(function () {
  var H = window.Hoist;
  var table = document.getElementById("runs");
  if (!table || !window.EventSource) return;
  var body = table.querySelector("tbody");
  var STATE = { queued: "pending", running: "running", awaiting: "awaiting", succeeded: "done",
                failed: "failed", cancelled: "cancelled", lost: "failed" };

  function row(id) {
    return body.querySelector('tr[data-run-id="' + CSS.escape(id) + '"]');
  }

  function what(run) {
    var span = H.el("span", null, (run.plugin || "") + " / " + (run.action || run.kind) + " ");
    span.appendChild(H.el("small", "muted kind-" + run.kind, run.kind));
    return span;
  }

  function newRow(run) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-run-id", run.id);
    var link = H.el("a");
    link.href = "/runs/" + encodeURIComponent(run.id);
    link.appendChild(H.el("code", null, run.id.slice(0, 12)));
    var pick = H.el("input");
    pick.type = "checkbox";
    pick.name = "ids";
    pick.value = run.id;
    pick.setAttribute("form", "compare-form");
    pick.setAttribute("aria-label", "Compare " + run.id.slice(-8));
    var cells = [
      ["Compare", pick],
      ["Run", link],
      ["What", what(run)],
      ["Status", H.el("span", "badge", run.status)],
      ["Progress", null],
      ["Created", H.el("time", null, new Date(run.created_at * 1000).toISOString()
        .replace("T", " ").slice(0, 19) + " UTC")],
    ];
    cells.forEach(function (cell) {
      var td = H.el("td", cell[0] === "Compare" ? "pick" : null);
      td.setAttribute("data-label", cell[0]);
      if (cell[0] === "Status") cell[1].setAttribute("data-status-badge", "");
      if (cell[0] === "Progress") {
        var bar = H.el("div", "bar small state-pending");
        bar.setAttribute("data-bar", "run-" + run.id);
        bar.appendChild(H.el("span", "bar-label", run.action || run.id));
        var progress = H.el("progress");
        progress.max = 100;
        progress.value = 0;
        bar.appendChild(progress);
        bar.appendChild(H.el("span", "bar-pct", "0%"));
        td.appendChild(bar);
      } else {
        td.appendChild(cell[1]);
      }
      tr.appendChild(td);
    });
    var empty = body.querySelector("tr.empty");
    if (empty) empty.remove();
    body.insertBefore(tr, body.firstChild);
    return tr;
  }

  function update(tr, status, percent) {
    tr.setAttribute("data-status", status);
    H.setBadge(tr.querySelector("[data-status-badge]"), status);
    var bar = tr.querySelector("[data-bar]");
    if (percent !== undefined) H.setBar(bar, percent, STATE[status]);
    else if (status === "succeeded") H.setBar(bar, 100, "done");
    else if (bar) bar.className = bar.className.replace(/\bstate-\S+/, "state-" + STATE[status]);
  }

  var stream = new EventSource("/api/v1/runs/stream");
  stream.addEventListener("run", function (event) {
    var run = JSON.parse(event.data);
    var tr = row(run.id);
    if (!tr && table.getAttribute("data-live") === "true") tr = newRow(run);
    if (tr) update(tr, run.status);
  });

  function active() {
    return Array.prototype.filter.call(body.querySelectorAll("tr[data-run-id]"), function (tr) {
      return H.TERMINAL.indexOf(tr.getAttribute("data-status")) < 0;
    }).map(function (tr) { return tr.getAttribute("data-run-id"); });
  }

  var busy = false;
  function refreshBars() {
    var ids = active();
    if (busy || !ids.length || document.hidden) return;
    busy = true;
    var query = ids.map(function (id) { return "ids=" + encodeURIComponent(id); }).join("&");
    fetch("/panel/bars?" + query, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (found) {
        Object.keys(found).forEach(function (id) {
          var tr = row(id);
          if (tr) update(tr, found[id].status, found[id].percent);
        });
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  window.setInterval(refreshBars, 1000);
  window.addEventListener("pagehide", function () { stream.close(); });
})();
