"""The batching store sink: acknowledged events survive, failed writes are retried."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from hoist.runs.models import MetricsEvent, Run, RunStatus, StatusEvent, new_run_id
from hoist.runs.sinks.store import StoreSink
from hoist.runs.store import RunStore


def test_flush_acknowledges_everything_emitted(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=5.0)  # only flush() can make it write in time
    run = Run(id=new_run_id())
    sink.open_run(run)
    for i in range(1, 5001):
        sink.emit(MetricsEvent(run_id=run.id, seq=i, ts=time.time(), values={"i": i}))
    sink.flush()
    assert store.count_events(run.id) == 5000
    sink.close()


def test_writer_retries_a_failed_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    real = store.write_rows
    failures = {"left": 2}

    def flaky(*args: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("disk hiccup")
        real(*args)

    monkeypatch.setattr(store, "write_rows", flaky)
    sink = StoreSink(store, interval=0.01)
    run = Run(id=new_run_id())
    sink.open_run(run)
    sink.emit(StatusEvent(run_id=run.id, seq=1, ts=1.0, status=RunStatus.RUNNING))
    sink.flush(timeout=10)
    assert failures["left"] == 0
    assert store.get_run(run.id).status is RunStatus.RUNNING
    sink.close()


def test_acknowledged_events_survive_a_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    script = textwrap.dedent(
        f"""
        import os, time
        from hoist.runs.models import MetricsEvent, Run
        from hoist.runs.sinks.store import StoreSink
        from hoist.runs.store import RunStore
        sink = StoreSink(RunStore("sqlite:///{db}"))
        sink.open_run(Run(id="r1"))
        for i in range(1, 1001):
            sink.emit(MetricsEvent(run_id="r1", seq=i, ts=time.time(), values={{"i": i}}))
        sink.flush()
        print("acked", flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -9
    assert "acked" in proc.stdout
    assert RunStore(f"sqlite:///{db}").count_events("r1") == 1000


def test_cancellation_is_polled_in_bulk(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=0.01, cancel_poll_interval=0.01)
    run = Run(id=new_run_id())
    sink.open_run(run)
    sink.flush()
    assert not sink.is_cancel_requested(run.id)
    store.request_cancel(run.id)
    deadline = time.monotonic() + 5
    while not sink.is_cancel_requested(run.id):
        assert time.monotonic() < deadline, "cancellation never seen"
        time.sleep(0.01)
    sink.close()


def test_live_runs_heartbeat(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=0.01, heartbeat_interval=0.05)
    live, done = Run(id=new_run_id()), Run(id=new_run_id())
    sink.open_run(live)
    sink.open_run(done)
    sink.emit(StatusEvent(run_id=done.id, seq=1, ts=1.0, status=RunStatus.SUCCEEDED))
    sink.flush()
    before = time.time()
    deadline = time.monotonic() + 5
    while (store.get_run(live.id).heartbeat_at or 0) < before:
        assert time.monotonic() < deadline, "no heartbeat"
        time.sleep(0.02)
    assert store.get_run(done.id).heartbeat_at == 1.0  # ended runs are left alone
    sink.close()


def test_an_unencodable_event_is_dropped_not_blocking(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=0.01)
    run = Run(id=new_run_id())
    sink.open_run(run)

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text for me")

    sink.emit(MetricsEvent(run_id=run.id, seq=1, ts=1.0, values={"bad": Unprintable()}))
    sink.emit(MetricsEvent(run_id=run.id, seq=2, ts=1.0, values={"ok": 1}))
    sink.flush(timeout=5)
    assert [e.seq for e in store.events(run.id)] == [2]
    assert sink.dropped == 1
    sink.close()


def test_an_idle_writer_sleeps_and_the_next_event_wakes_it(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'idle.db'}")
    sink = StoreSink(store)
    try:
        deadline = time.monotonic() + 5
        while not sink._idle:  # nothing queued, no live run: the writer sleeps untimed
            assert time.monotonic() < deadline, "the writer never went idle"
            time.sleep(0.01)
        run = Run(id=new_run_id(), kind="action", action="a")
        sink.open_run(run)  # no flush: the writer must wake by itself
        deadline = time.monotonic() + 5
        while not store.list_runs():
            assert time.monotonic() < deadline, "an event emitted while idle was not written"
            time.sleep(0.01)
        assert store.get_run(run.id).id == run.id
    finally:
        sink.close()
        store.close()
