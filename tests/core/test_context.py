"""RuntimeContext: every call becomes an event; logger, progress, artifacts, cancellation."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from hoist.errors import RunCancelledError
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import Run
from hoist.runs.sinks.memory import MemorySink


@pytest.fixture
def sink() -> MemorySink:
    s = MemorySink()
    s.open_run(Run(id="r1"))
    return s


def test_each_call_becomes_an_event_with_gapless_seq(sink: MemorySink, tmp_path: Path) -> None:
    ctx = RuntimeContext("r1", sink, runs_dir=tmp_path, progress_interval=0)
    ctx.log("process_start", {"input": "a.csv"})
    ctx.set_progress(50, 100, category="training")
    ctx.set_metrics({"loss": 0.05}, category="train")
    ctx.log_message("Training complete!", "success")
    ctx.log_dev_event("checkpoint_saved", {"path": "/m.pt"})
    events = sink.events("r1")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.type for e in events] == ["custom", "progress", "metrics", "message", "dev"]
    assert events[0].name == "process_start" and events[0].data == {"input": "a.csv"}
    assert events[1].category == "training" and events[1].current == 50
    assert events[3].level == "success"
    assert ctx.job_id == "r1"


def test_logger_records_become_log_events(sink: MemorySink) -> None:
    ctx = RuntimeContext("r1", sink, action_name="train")
    ctx.logger.info("epoch %d done", 3)
    ctx.logger.debug("not recorded at the default level")
    try:
        raise ValueError("bad")
    except ValueError:
        ctx.logger.exception("failed")
    logging.getLogger("unrelated").warning("not ours")
    events = sink.events("r1")
    assert [(e.level, e.message.splitlines()[0]) for e in events] == [
        ("INFO", "epoch 3 done"),
        ("ERROR", "failed"),
    ]
    assert "ValueError: bad" in events[1].message
    assert events[0].logger == "hoist.run.train"


def test_progress_is_coalesced_but_last_value_kept(sink: MemorySink) -> None:
    ctx = RuntimeContext("r1", sink, progress_interval=60)
    for i in range(1, 1000):
        ctx.set_progress(i, 1000)
    ctx.log_message("done")  # flushes the pending value first
    ctx.set_progress(1000, 1000)  # completion is never coalesced
    progress = [(e.current, e.seq) for e in sink.events("r1") if e.type == "progress"]
    assert progress == [(1, 1), (999, 2), (1000, 4)]


def test_artifacts_dir_is_per_run(sink: MemorySink, tmp_path: Path) -> None:
    ctx = RuntimeContext("r1", sink, runs_dir=tmp_path)
    out = ctx.artifacts_dir / "report.json"
    out.write_text("{}")
    ctx.add_artifact(out)
    assert ctx.artifacts_dir == tmp_path / "r1" / "artifacts"
    (event,) = sink.events("r1")
    assert event.path == "report.json" and event.size == 2


def test_cancellation_local_and_requested(sink: MemorySink) -> None:
    ctx = RuntimeContext("r1", sink)
    assert not ctx.is_cancelled()
    ctx.set_progress(1, 10)
    ctx.cancel()
    assert ctx.is_cancelled()
    with pytest.raises(RunCancelledError):
        ctx.set_progress(2, 10)
    other = RuntimeContext("r2", sink)
    sink.open_run(Run(id="r2"))
    sink.request_cancel("r2")
    with pytest.raises(RunCancelledError):
        other.check_cancelled()


def test_env_is_a_plugin_environment(sink: MemorySink) -> None:
    ctx = RuntimeContext("r1", sink, env={"BATCH": "8"})
    assert ctx.env.get_int("BATCH") == 8
    assert ctx.env.get("MISSING", "d") == "d"
    assert time.time() > 0
