"""The console sink draws bars, metrics, messages, steps and the outcome."""

from __future__ import annotations

import io

from rich.console import Console

from hoist.runs.models import (
    ErrorEvent,
    MessageEvent,
    MetricsEvent,
    ProgressEvent,
    Run,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.sinks.console import ConsoleSink


def test_renders_a_run() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    sink = ConsoleSink(console)
    with sink:
        sink.open_run(Run(id="r1", action="train"))
        sink.emit(StatusEvent(run_id="r1", seq=1, ts=1.0, status=RunStatus.RUNNING))
        sink.emit(StepEvent(run_id="r1", seq=2, ts=1.0, step="load", phase="started"))
        sink.emit(ProgressEvent(run_id="r1", seq=3, ts=1.0, current=5, total=10))
        sink.emit(ProgressEvent(run_id="r1", seq=4, ts=1.0, current=2, total=4, category="ep"))
        sink.emit(MetricsEvent(run_id="r1", seq=5, ts=1.0, values={"loss": 0.123456}))
        sink.emit(MessageEvent(run_id="r1", seq=6, ts=1.0, text="halfway there"))
        sink.emit(ErrorEvent(run_id="r1", seq=7, ts=1.0, error_type="E", message="bad"))
        sink.emit(StatusEvent(run_id="r1", seq=8, ts=1.0, status=RunStatus.FAILED))
    text = out.getvalue()
    assert "▶ load" in text
    assert "halfway there" in text
    assert "E: bad" in text
    assert "train failed (run r1)" in text
    assert "loss" in text and "0.1235" in text
    tasks = {t.description: (t.completed, t.total) for t in sink.progress.tasks}
    assert tasks == {"[red]train (failed)": (5, 10), "[red]train · ep (failed)": (2, 4)}
