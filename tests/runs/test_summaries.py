"""Each event type says its one line once; the CLI, the console sink and the panel (its
server-rendered log and the SSE frames its script shows) all show that same text."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from rich.console import Console

from hoist.cli.render import event_line
from hoist.runs.models import (
    EVENT_TYPES,
    ArtifactEvent,
    CheckpointEvent,
    CustomEvent,
    DevEvent,
    ErrorEvent,
    Event,
    EventBase,
    LockEvent,
    LogEvent,
    MessageEvent,
    MetricsEvent,
    OutputEvent,
    ProgressEvent,
    ResultEvent,
    Run,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.sinks.console import ConsoleSink
from hoist.server.frames import event_frame
from hoist.server.panel.events import log_lines
from hoist.server.panel.reads import LogWindow
from hoist.server.panel.templating import render

R = "run1"
EXAMPLES: list[Event] = [
    StatusEvent(run_id=R, seq=1, ts=1.0, status=RunStatus.SUCCEEDED),
    ProgressEvent(run_id=R, seq=2, ts=1.0, current=3, total=10, category="epochs"),
    MetricsEvent(run_id=R, seq=3, ts=1.0, values={"loss": 0.25, "acc": 0.9}, category="train"),
    LogEvent(run_id=R, seq=4, ts=1.0, level="WARNING", message="disk <almost> full"),
    MessageEvent(run_id=R, seq=5, ts=1.0, level="success", text="half **way**"),
    DevEvent(run_id=R, seq=6, ts=1.0, name="cache", data={"hits": 3}),
    CustomEvent(run_id=R, seq=7, ts=1.0, name="batch", data={"size": 32}),
    StepEvent(run_id=R, seq=8, ts=1.0, step="load", phase="failed", detail="no file\ntrace"),
    ArtifactEvent(run_id=R, seq=9, ts=1.0, path="model.bin", name="model", size=10),
    CheckpointEvent(run_id=R, seq=10, ts=1.0, name="after-train", data={"done": ["train"]}),
    ResultEvent(run_id=R, seq=11, ts=1.0, value={"accuracy": 0.9}),
    ErrorEvent(run_id=R, seq=12, ts=1.0, error_type="ValueError", message="bad input"),
    OutputEvent(run_id=R, seq=13, ts=1.0, format="markdown", body="# Done\n**3** tasks"),
    LockEvent(
        run_id=R,
        seq=14,
        ts=1.0,
        lock_id="l1",
        name="review",
        phase="answered",
        answer={"text": "ok"},
        user="ann",
    ),
]
EXPECTED = {
    "status": "succeeded",
    "progress": "[epochs] 3/10 (30%)",
    "metrics": "[train] loss=0.25, acc=0.9",
    "log": "WARNING disk <almost> full",
    "message": "half **way**",
    "dev": 'cache {"hits":3}',
    "custom": 'batch {"size":32}',
    "step": "load failed: no file",
    "artifact": "model.bin",
    "checkpoint": 'after-train {"done":["train"]}',
    "result": '{"accuracy":0.9}',
    "error": "ValueError: bad input",
    "output": "# Done\n**3** tasks",
    "lock": "lock review answered by ann",
}


def test_every_event_type_has_its_own_summary() -> None:
    assert {e.type for e in EXAMPLES} == set(EVENT_TYPES) == set(EXPECTED)
    for cls in EVENT_TYPES.values():
        assert cls.summary is not EventBase.summary, cls.__name__
    assert {e.type: e.summary() for e in EXAMPLES} == EXPECTED


def test_long_values_are_cut_to_one_bounded_line() -> None:
    event = ResultEvent(run_id=R, seq=1, ts=1.0, value="x" * 2000)
    assert len(event.summary()) == 500 and event.summary().endswith("…")
    assert "\n" not in StepEvent(run_id=R, seq=1, ts=1, step="s", phase="failed",
                                 detail="a\nb").summary()  # fmt: skip


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_cli_and_panel_show_the_summary(event: Event) -> None:
    summary = event.summary()
    assert event_line(event).plain.endswith(f" {event.type:<10} {summary}")
    frame = event_frame(event).text
    assert json.loads(frame.split("data: ", 1)[1])["summary"] == summary
    window = LogWindow([event], event.seq, event.seq, event.seq)
    page = render("log.html", log=window, lines=log_lines([event]))
    shown = re.findall(r'<span class="text">(.*?)</span>', page, re.S)
    assert [html.unescape(text) for text in shown] == [summary]


def test_console_prints_the_summary() -> None:
    out = io.StringIO()
    sink = ConsoleSink(Console(file=out, force_terminal=False, width=400))
    with sink:
        sink.open_run(Run(id=R, action="train"))
        for event in EXAMPLES:
            sink.emit(event)
    text = out.getvalue()
    printed = {"status", "log", "message", "custom", "step", "artifact", "checkpoint", "error"}
    for event in EXAMPLES:
        if event.type in printed:
            assert event.summary() in text, event.type
