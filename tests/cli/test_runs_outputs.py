"""`hoist runs list|show|logs` on a service run and its outputs, and the console sink
printing outputs during a local run."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from hoist.plugins.context import RuntimeContext
from hoist.runs.models import OutputEvent, Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.console import ConsoleSink

SERVICE = {
    "name": "calc", "path": "/calc", "summary": "Calculate", "description": "Adds numbers",
    "author": "ada@example.org", "version": "1.2.3", "organization": "Engines",
    "tags": ["math", "demo"], "entry_point": "my_service.calc:execute",
}  # fmt: skip


def _service_run(runtime: Runtime, outputs: int = 0, result: Any = None,
                 model: str | None = None) -> str:  # fmt: skip
    """A service run recorded through a context over the runtime's store sink, as an
    in-process service execution records it."""
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, plugin="calc", action="Calculate",
              mode="service", params={"tasks": 2}, meta={"service": dict(SERVICE)})  # fmt: skip
    runtime.sink.open_run(run)
    ctx = RuntimeContext(run.id, runtime.sink)
    ctx.emit_status(RunStatus.RUNNING)
    ctx.emit_output("markdown", "# Report\n**2** tasks", "Markdown")
    ctx.emit_output("json", {"tool": "search", "query": "x y"}, None, "action")
    ctx.emit_output("json", {"total": 3, "items": [1, 2]}, "my_service.models.Sum")
    for i in range(outputs):
        ctx.emit_output("text", f"line {i}", "Text")
    ctx.emit_result(result, model)
    ctx.emit_status(RunStatus.SUCCEEDED)
    runtime.sink.flush()
    return run.id


def test_show_a_service_run(runtime: Runtime, hoist: Any) -> None:
    run_id = _service_run(runtime, result="## Done\nall *fine*", model="Markdown")
    shown = hoist("runs", "show", run_id)
    assert shown.code == 0, shown.err
    out = shown.out
    for expected in ("kind: service", "service: calc", "endpoint: Calculate", "path: /calc",
                     "entry point: my_service.calc:execute", "version: 1.2.3",
                     "author: ada@example.org", "organization: Engines", "tags: math, demo",
                     'inputs: {"tasks": 2}'):  # fmt: skip
        assert expected in out, expected
    assert "plugin:" not in out and "params:" not in out
    # a Markdown result is its text, not a JSON string
    assert "result: (Markdown) ## Done\n" in out and "all *fine*" in out
    assert "outputs: 3" in out
    assert "# Report" in out and "**2** tasks" in out  # Markdown as written
    assert 'action {"tool":"search","query":"x y"}' in out  # JSON compact, the action marked
    assert '(Sum) {"total":3,"items":[1,2]}' in out  # with its type's name

    as_json = hoist("runs", "show", run_id, "--json").json()
    assert as_json["kind"] == "service" and as_json["meta"]["service"]["version"] == "1.2.3"


def test_show_keeps_the_newest_outputs_and_json_results(runtime: Runtime, hoist: Any) -> None:
    run_id = _service_run(runtime, outputs=30, result={"score": 0.5}, model="my.Score")
    out = hoist("runs", "show", run_id).out
    assert "outputs: 33" in out and "… 13 earlier (hoist runs logs)" in out
    assert "line 29" in out and "line 10\n" in out and "line 9\n" not in out
    assert 'result: (my.Score) {"score":0.5}' in out


def test_logs_print_outputs_and_list_filters_by_kind(runtime: Runtime, hoist: Any) -> None:
    service_id = _service_run(runtime, result={"ok": True})
    action = Run(id=new_run_id(), plugin="demo", action="work")
    runtime.store.write_batch([action], [])
    logs = hoist("runs", "logs", service_id)
    assert logs.code == 0
    lines = logs.out.splitlines()
    assert any(" output " in line and "(Markdown) # Report" in line for line in lines)
    assert "**2** tasks" in logs.out
    assert any('action {"tool":"search","query":"x y"}' in line for line in lines)
    listed = hoist("runs", "list", "--kind", "service", "--json").json()
    assert [r["id"] for r in listed] == [service_id]
    actions = hoist("runs", "list", "--kind", "action", "--json").json()
    assert [r["id"] for r in actions] == [action.id]
    bad = hoist("runs", "list", "--kind", "nope")
    assert bad.code == 2 and "nope" in bad.err


def test_console_sink_prints_outputs() -> None:
    out = io.StringIO()
    sink = ConsoleSink(Console(file=out, force_terminal=False, width=200))
    with sink:
        sink.open_run(Run(id="r1", kind=RunKind.SERVICE, action="Calculate"))
        sink.emit(OutputEvent(run_id="r1", seq=1, ts=1.0, format="markdown", body="**hi** there"))
        sink.emit(OutputEvent(run_id="r1", seq=2, ts=1.0, format="json", body={"a": [1, 2]},
                              role="action"))  # fmt: skip
    text = out.getvalue()
    assert "output   **hi** there" in text
    assert 'action   {"a":[1,2]}' in text
