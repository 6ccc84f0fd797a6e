"""Service runs in the panel: their endpoint and outputs on the run page (rendered and
sanitised on the server), typed results, pages of outputs, the runs list's kind filter."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import httpx

from hoist.runs.models import (
    EventBase,
    OutputEvent,
    ResultEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from hoist.server.panel.events import OUTPUT_LINE_MAX
from hoist.server.panel.outputs import MAX_BODY, OUTPUT_PAGE
from tests.panel.conftest import Login
from tests.server.conftest import LiveServer

SERVICE = {
    "name": "calc-service", "path": "/calc", "summary": "Calculate <things>",
    "description": "Adds **numbers** <script>alert('d')</script>", "author": "ada@example.org",
    "version": "1.2.3", "organization": "Analytical Engines", "tags": ["math", "<i>demo</i>"],
    "entry_point": "my_service.calc:execute",
}  # fmt: skip
XSS_HTML = (
    "<b>bold html</b><script>alert('h')</script><img src=x onerror=alert(2)>"
    '<a href="javascript:alert(3)" onclick="alert(4)">link</a>'
)
DANGER = re.compile(r"<script>alert|<[^>]*\son(error|click|mouseover)\s*=|href=[\"']?javascript:")


def _service_run(
    server: LiveServer, outputs: list[dict[str, Any]], result: Any = None,
    result_model: str | None = None, **fields: Any,
) -> Run:  # fmt: skip
    """A service run written straight into the store: running, then each output, then
    (when given) its result and success."""
    now = time.time()
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, plugin="calc-service", action="Calculate",
              mode="service", created_at=now, params={"tasks": 3},
              meta={"service": dict(SERVICE)}, **fields)  # fmt: skip
    events: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]
    for output in outputs:
        events.append(OutputEvent(run_id=run.id, seq=len(events) + 1, ts=now, **output))
    if result is not None:
        events.append(ResultEvent(run_id=run.id, seq=len(events) + 1, ts=now, value=result,
                                  model=result_model))  # fmt: skip
        events.append(StatusEvent(run_id=run.id, seq=len(events) + 1, ts=now,
                                  status=RunStatus.SUCCEEDED))  # fmt: skip
    server.state.store.write_batch([run], events)
    return run


def _safe(page: str) -> None:
    """No script, event handler or ``javascript:`` URL anywhere on ``page``."""
    found = DANGER.search(page)
    assert found is None, page[max(0, found.start() - 200) : found.end() + 50]


def _section(page: str, ident: str) -> str:
    start = page.index(f'id="{ident}"')
    return page[start : page.index("</section>", start)]


def _seqs(fragment: str) -> list[int]:
    return [int(s) for s in re.findall(r'<li class="out [^"]*" data-seq="(\d+)"', fragment)]


def test_outputs_render_sanitised_by_format_and_role(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _service_run(panel, [
        {"format": "markdown", "body": "# Title\n\n**strong** <script>alert('m')</script>",
         "model": "Markdown"},
        {"format": "html", "body": XSS_HTML, "model": "HTML"},
        {"format": "text", "body": "<b>not markup</b>\n  indented", "model": "Text"},
        {"format": "json", "body": {"b": [1, 2], "a": "<i>x</i>"}, "model": "my.models.Report"},
        {"format": "json", "body": {"tool": "search"}, "role": "action"},
    ], result="## Done\n\nall *fine*", result_model="Markdown")  # fmt: skip
    page = http.get(f"/runs/{run.id}").text
    _safe(page)
    outputs = _section(page, "part-outputs")
    assert _seqs(outputs) == [2, 3, 4, 5, 6]
    assert "<h1>Title</h1>" in outputs and "<strong>strong</strong>" in outputs
    assert "&lt;script&gt;alert('m')&lt;/script&gt;" in outputs  # Markdown: raw HTML is text
    assert "<b>bold html</b>" in outputs and ">link</a>" in outputs  # harmless HTML is kept
    assert '<pre class="out-body">&lt;b&gt;not markup&lt;/b&gt;\n  indented</pre>' in outputs
    pretty = '{\n  "a": "&lt;i&gt;x&lt;/i&gt;",\n  "b": [\n    1,\n    2\n  ]\n}'
    assert f'<pre class="out-body">{pretty.replace(chr(34), "&#34;")}</pre>' in outputs
    assert '<small class="out-model">my.models.Report</small>' in outputs
    action = re.search(r'<li class="out role-action fmt-json" data-seq="6">(.*?)</li>', outputs,
                       re.S)  # fmt: skip
    assert action and '<span class="out-role">action</span>' in action.group(1)
    assert (
        'id="outputs-earlier"' in outputs and "hidden" in outputs.split("outputs-earlier")[0][-40:]
    )
    outcome = _section(page, "part-outcome")
    assert '<div class="md" id="run-result"><h2>Done</h2>' in outcome
    assert "<em>fine</em>" in outcome and 'id="run-result-model">Markdown<' in outcome


def test_service_header_and_runs_list(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    service = _service_run(panel, [], result={"total": 6})
    action = Run(id=new_run_id(), plugin="paneltest", action="count")
    panel.state.store.write_batch([action], [])
    page = http.get(f"/runs/{service.id}").text
    _safe(page)
    header = _section(page, "part-header")
    assert '<dd id="run-service">calc-service <small>1.2.3</small></dd>' in header
    assert "<code>/calc</code> Calculate &lt;things&gt;" in header
    assert "<code>my_service.calc:execute</code>" in header
    assert "ada@example.org" in header and "Analytical Engines" in header
    assert '<span class="tag">&lt;i&gt;demo&lt;/i&gt;</span>' in header
    assert "<strong>numbers</strong>" in header  # the description is Markdown, sanitised
    assert "<summary>Inputs</summary>" in header and "service · service" in header
    assert '<pre id="run-result">{\n  &#34;total&#34;: 6\n}</pre>' in page
    assert 'id="run-result-model"' not in page  # plain JSON has no type to name

    listed = http.get("/runs", params={"kind": "service"}).text
    assert listed.count("<tr data-run-id=") == 1 and service.id in listed
    row = listed[listed.index(f'data-run-id="{service.id}"') :]
    assert "calc-service / Calculate" in row and "1.2.3" in row
    assert "<code>my_service.calc:execute</code>" in row
    assert 'value="service" selected' in listed
    everything = http.get("/runs").text
    assert service.id in everything and action.id in everything
    api = http.get("/api/v1/runs", params={"kind": "service"}).json()
    assert [r["id"] for r in api["runs"]] == [service.id]


def test_typed_results_render_like_outputs(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    cases: list[tuple[Any, str | None, str]] = [
        (XSS_HTML, "HTML", '<div class="md" id="run-result"><b>bold html</b>'),
        ("<b>as text</b>", "hoist.services.response.Text",
         '<pre id="run-result">&lt;b&gt;as text&lt;/b&gt;</pre>'),
        ({"body": "*dumped*"}, "Markdown", '<div class="md" id="run-result"><p><em>dumped</em>'),
        ({"score": 0.5}, "my_service.models.Score",
         '<pre id="run-result">{\n  &#34;score&#34;: 0.5\n}</pre>'),
    ]  # fmt: skip
    for value, model, expected in cases:
        run = _service_run(panel, [], result=value, result_model=model)
        page = http.get(f"/runs/{run.id}").text
        _safe(page)
        assert html.unescape(expected) in html.unescape(page), (
            model,
            _section(page, "part-outcome"),
        )
        if model:
            assert f'id="run-result-model">{model}<' in page


def test_long_outputs_come_a_page_at_a_time(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    count = 3 * OUTPUT_PAGE + 7
    outputs = [{"format": "markdown", "body": f"item **{i}**"} for i in range(count)]
    run = _service_run(panel, outputs)  # outputs have seqs 2..count+1
    last = count + 1
    page = http.get(f"/runs/{run.id}").text
    shown = _seqs(_section(page, "part-outputs"))
    assert shown == list(range(last - OUTPUT_PAGE + 1, last + 1))
    first = shown[0]
    assert f'href="/runs/{run.id}/outputs?before={first}"' in page
    assert f'data-first-seq="{first}" data-last-seq="{last}"' in page

    earlier = http.get(f"/runs/{run.id}/outputs", params={"before": first})
    assert earlier.headers["content-security-policy"].startswith("default-src 'self'")
    assert _seqs(earlier.text) == list(range(first - OUTPUT_PAGE, first))
    assert 'data-has-earlier="true"' in earlier.text and "<strong>" in earlier.text
    oldest = http.get(f"/runs/{run.id}/outputs", params={"before": 5}).text
    assert _seqs(oldest) == [2, 3, 4] and 'data-has-earlier="false"' in oldest

    newest = http.get(f"/runs/{run.id}/outputs", params={"after": last - 3}).text
    assert _seqs(newest) == [last - 2, last - 1, last] and 'data-gap="false"' in newest
    assert _seqs(http.get(f"/runs/{run.id}/outputs", params={"after": last}).text) == []
    behind = http.get(f"/runs/{run.id}/outputs", params={"after": 1}).text
    assert _seqs(behind) == shown and 'data-gap="true"' in behind  # the newest, not the oldest

    assert http.get(f"/runs/{run.id}/outputs", params={"after": -1}).status_code == 404
    assert http.get("/runs/bad%20id/outputs").status_code == 404
    assert http.get(f"/runs/{new_run_id()}/outputs").status_code == 404
    anonymous = httpx.get(f"{panel.url}/runs/{run.id}/outputs", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


def test_a_huge_output_is_cut(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = _service_run(panel, [{"format": "text", "body": "x" * (MAX_BODY + 10)}])
    page = http.get(f"/runs/{run.id}").text
    outputs = _section(page, "part-outputs")
    assert "x" * MAX_BODY in outputs and "x" * (MAX_BODY + 1) not in outputs
    assert "the API has the whole output" in outputs
    log = page[page.index('id="log-lines"') :]  # the Output section has it: its line is cut
    assert f'<span class="text">{"x" * OUTPUT_LINE_MAX}…</span>' in log


def test_an_action_run_without_outputs_hides_the_section(panel: LiveServer, login: Login) -> None:
    http, _ = login("viewer")
    run = Run(id=new_run_id(), plugin="paneltest", action="count")
    panel.state.store.write_batch([run], [])
    page = http.get(f"/runs/{run.id}").text
    assert (
        '<section id="part-outputs" class="card wide" aria-labelledby="outputs-h" hidden>' in page
    )
    assert 'id="run-service"' not in page and "<summary>Inputs</summary>" not in page
