"""The batching store sink: acknowledged events survive, a locked database is waited
out, rows the database refuses are set aside while the rest still lands."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tests.waiting import wait_until

from hoist.errors import StoreError
from hoist.runs.models import MetricsEvent, Run, RunStatus, StatusEvent, new_run_id
from hoist.runs.sinks.store import StoreSink
from hoist.runs.store import RunStore


def _metrics(run_id: str, seqs: range) -> list[MetricsEvent]:
    return [MetricsEvent(run_id=run_id, seq=i, ts=time.time(), values={"i": i}) for i in seqs]


def test_flush_acknowledges_everything_emitted(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=5.0)  # only flush() can make it write in time
    run = Run(id=new_run_id())
    sink.open_run(run)
    for event in _metrics(run.id, range(1, 12_001)):  # several batches
        sink.emit(event)
    sink.flush()
    assert store.count_events(run.id) == 12_000
    assert [e.seq for e in store.events(run.id, after_seq=11_998)] == [11_999, 12_000]
    sink.close()


def test_a_locked_database_is_waited_out_and_nothing_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = RunStore(f"sqlite:///{db}?timeout=0.05")  # give up on the lock after 50 ms
    sink = StoreSink(store, interval=0.01)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    run = Run(id=new_run_id())
    sink.open_run(run)
    for event in _metrics(run.id, range(1, 101)):
        sink.emit(event)
    wait_until(lambda: "locked" in (sink.last_error or ""), what="a write refused by the lock")
    with pytest.raises(StoreError, match="did not accept events in time"):
        sink.flush(timeout=0.2)
    blocker.execute("COMMIT")
    blocker.close()
    sink.flush(timeout=10)
    assert [e.seq for e in store.events(run.id)] == list(range(1, 101))
    assert not sink.rejected
    sink.close()


def test_rows_the_database_refuses_are_set_aside_and_the_rest_lands(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=0.01, max_tries=3)
    good, bad = Run(id=new_run_id()), Run(id=new_run_id(), mode=None)  # type: ignore[arg-type]
    caplog.set_level(logging.WARNING, logger="hoist.sinks")
    sink.open_run(good)
    sink.open_run(bad)  # runs.mode is NOT NULL: an integrity error, never a passing one
    for event in _metrics(good.id, range(1, 51)):
        sink.emit(event)
    with pytest.raises(StoreError, match="refused 1 runs/events for good"):
        sink.flush(timeout=10)
    [rejected] = sink.rejected  # kept as it was to be written: the run's row
    assert [row["id"] for row in rejected.items] == [bad.id]
    assert "NOT NULL" in rejected.error
    tries = [r.getMessage() for r in caplog.records if "refused a batch (try" in r.getMessage()]
    assert len(tries) == 2  # tried 3 times in all, then halved down to the bad row
    assert len([r for r in caplog.records if "set aside" in r.getMessage()]) == 1
    # Everything else landed, and what comes later too; the refusal is reported once.
    for event in _metrics(good.id, range(51, 101)):
        sink.emit(event)
    sink.flush(timeout=10)
    assert [e.seq for e in store.events(good.id)] == list(range(1, 101))
    assert store.get_run(good.id).id == good.id
    sink.close()


def test_a_missing_table_sets_the_batch_aside_whole_not_forever(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = RunStore(f"sqlite:///{db}")
    sink = StoreSink(store, interval=5.0, max_tries=2)  # only flush() writes, in one batch
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE events")  # every row would be refused alike
    run = Run(id=new_run_id())
    sink.open_run(run)
    for event in _metrics(run.id, range(1, 21)):
        sink.emit(event)
    with pytest.raises(StoreError, match="no such table"):
        sink.flush(timeout=10)
    [rejected] = sink.rejected  # tried max_tries times, never halved row by row
    assert len(rejected.items) == 21
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
    wait_until(lambda: sink.is_cancel_requested(run.id), timeout=5, what="the cancel flag")
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
    wait_until(lambda: (store.get_run(live.id).heartbeat_at or 0) >= before, what="a heartbeat")
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
        # Nothing queued, no live run: the writer sleeps untimed.
        wait_until(lambda: sink.idle, timeout=5, what="the writer to go idle")
        run = Run(id=new_run_id(), kind="action", action="a")
        sink.open_run(run)  # no flush: the writer must wake by itself
        wait_until(store.list_runs, timeout=5, what="the run emitted while idle")
        assert store.get_run(run.id).id == run.id
    finally:
        sink.close()
        store.close()


def test_close_is_idempotent_and_flushes(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 's.db'}")
    sink = StoreSink(store, interval=5.0)
    run = Run(id=new_run_id())
    sink.open_run(run)
    for event in _metrics(run.id, range(1, 11)):
        sink.emit(event)
    sink.close()
    sink.close()
    assert store.count_events(run.id) == 10
