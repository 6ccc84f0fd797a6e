"""The run store, on SQLite and on a real PostgreSQL (same tests, both backends)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from hoist.errors import RunNotFoundError, StoreError
from hoist.runs.models import (
    ErrorEvent,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    Run,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from hoist.runs.reader import RunFilter
from hoist.runs.store import RunStore
from hoist.runs.store.migrate import current_revision
from hoist.runs.store.revision import HEAD_REVISION


@pytest.fixture
def store(store_url: str) -> RunStore:
    s = RunStore(store_url)
    yield s
    s.close()


def _run(**kw: object) -> Run:
    return Run(id=new_run_id(), plugin="p", action="a", params={"x": 1}, **kw)  # type: ignore[arg-type]


def test_migrates_to_head_and_reopens(store: RunStore, store_url: str) -> None:
    with store.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        tables = set(sa.inspect(conn).get_table_names())
    assert {"runs", "events", "alembic_version"} <= tables
    again = RunStore(store_url)  # second open: no migration, same data
    again.close()


def test_write_batch_applies_status_result_and_error(store: RunStore) -> None:
    ok, bad = _run(), _run()
    now = time.time()
    store.write_batch(
        [ok, bad],
        [
            StatusEvent(run_id=ok.id, seq=1, ts=now, status=RunStatus.RUNNING),
            ResultEvent(run_id=ok.id, seq=2, ts=now + 1, value={"n": 3}),
            StatusEvent(run_id=ok.id, seq=3, ts=now + 2, status=RunStatus.SUCCEEDED),
            StatusEvent(run_id=bad.id, seq=1, ts=now, status=RunStatus.RUNNING),
            ErrorEvent(run_id=bad.id, seq=2, ts=now, error_type="ValueError", message="boom"),
            StatusEvent(run_id=bad.id, seq=3, ts=now, status=RunStatus.FAILED),
        ],
    )
    got = store.get_run(ok.id)
    assert got.status is RunStatus.SUCCEEDED
    assert got.result == {"n": 3}
    assert got.params == {"x": 1}
    assert got.started_at == pytest.approx(now)
    assert got.finished_at == pytest.approx(now + 2)
    failed = store.get_run(bad.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error is not None and failed.error["type"] == "ValueError"


def test_events_round_trip_in_order_and_after_seq(store: RunStore) -> None:
    run = _run()
    events = [
        ProgressEvent(run_id=run.id, seq=1, ts=1.0, current=1, total=10, category="train"),
        MetricsEvent(run_id=run.id, seq=2, ts=2.0, values={"loss": 0.5}),
        LogEvent(run_id=run.id, seq=3, ts=3.0, level="WARNING", message="hi", logger="x"),
    ]
    store.write_batch([run], events)
    assert store.events(run.id) == events
    assert [e.seq for e in store.events(run.id, after_seq=1)] == [2, 3]
    assert [e.seq for e in store.events(run.id, after_seq=1, limit=1)] == [2]
    assert store.count_events(run.id) == 3


def test_writes_are_idempotent_on_run_id_and_seq(store: RunStore) -> None:
    run = _run()
    event = MetricsEvent(run_id=run.id, seq=1, ts=1.0, values={"a": 1})
    store.write_batch([run], [event])
    store.write_batch([run], [MetricsEvent(run_id=run.id, seq=1, ts=9.0, values={"a": 2})])
    assert store.events(run.id) == [event]


def test_a_run_recorded_elsewhere_first_still_gets_its_progress(store: RunStore) -> None:
    # A driver records a job's run (queued); the job's worker then writes the same run
    # and all its events in one batch: its folded progress must land, not be dropped.
    run = _run()
    store.write_batch([run], [])
    events = [
        StatusEvent(run_id=run.id, seq=1, ts=1.0, status=RunStatus.RUNNING),
        ResultEvent(run_id=run.id, seq=2, ts=2.0, value={"total": 3}),
        StatusEvent(run_id=run.id, seq=3, ts=3.0, status=RunStatus.SUCCEEDED),
    ]
    store.write_batch([run], events)
    stored = store.get_run(run.id)
    assert (stored.status, stored.result, stored.started_at, stored.finished_at) == (
        RunStatus.SUCCEEDED, {"total": 3}, 1.0, 3.0,
    )  # fmt: skip
    # Writing the queued run again (a re-open) changes nothing; an ended run stays ended.
    store.write_batch([run], [])
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED
    store.write_batch([run], [StatusEvent(run_id=run.id, seq=4, ts=4.0, status=RunStatus.RUNNING)])
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED


def test_list_runs_filters(store: RunStore) -> None:
    old = Run(id=new_run_id(), plugin="p1", action="a", created_at=100.0)
    new = Run(id=new_run_id(), plugin="p2", action="b", created_at=200.0)
    store.write_batch(
        [old, new], [StatusEvent(run_id=new.id, seq=1, ts=1.0, status=RunStatus.RUNNING)]
    )
    assert [r.id for r in store.list_runs()] == [new.id, old.id]
    assert [r.id for r in store.list_runs(RunFilter(plugin="p1"))] == [old.id]
    assert [r.id for r in store.list_runs(RunFilter(action="b"))] == [new.id]
    assert [r.id for r in store.list_runs(RunFilter(status=[RunStatus.RUNNING]))] == [new.id]
    assert [r.id for r in store.list_runs(RunFilter(since=150.0))] == [new.id]
    assert [r.id for r in store.list_runs(RunFilter(until=150.0))] == [old.id]
    assert [r.id for r in store.list_runs(RunFilter(limit=1, offset=1))] == [old.id]


def test_unknown_run_and_prefix_lookup(store: RunStore) -> None:
    run = _run()
    store.write_batch([run], [])
    assert store.get_run(run.id[:20]).id == run.id
    with pytest.raises(RunNotFoundError):
        store.get_run("nope")
    with pytest.raises(RunNotFoundError):
        store.events("nope")
    with pytest.raises(RunNotFoundError):
        store.request_cancel("nope")


def test_cancel_flag(store: RunStore) -> None:
    a, b = _run(), _run()
    store.write_batch([a, b], [])
    store.request_cancel(a.id)
    assert store.is_cancel_requested(a.id)
    assert not store.is_cancel_requested(b.id)
    assert store.cancel_requested_among([a.id, b.id]) == {a.id}


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open run store"):
        RunStore("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_unsupported_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="unsupported database"):
        RunStore("mysql://root@127.0.0.1/test")


def test_mark_lost_and_reap_stale(store: RunStore) -> None:
    stale, fresh, done = _run(), _run(), _run()
    now = time.time()
    store.write_batch(
        [stale, fresh, done],
        [
            StatusEvent(run_id=stale.id, seq=1, ts=now - 100, status=RunStatus.RUNNING),
            StatusEvent(run_id=fresh.id, seq=1, ts=now, status=RunStatus.RUNNING),
            StatusEvent(run_id=done.id, seq=1, ts=now - 100, status=RunStatus.SUCCEEDED),
        ],
    )
    assert store.reap_stale(stale_after=15) == [stale.id]
    lost = store.get_run(stale.id)
    assert lost.status is RunStatus.LOST
    assert lost.error is not None and "no heartbeat" in lost.error["message"]
    assert [e.type for e in store.events(stale.id)] == ["status", "error", "status"]
    assert store.get_run(fresh.id).status is RunStatus.RUNNING
    assert not store.mark_lost(done.id, "too late")
    assert store.get_run(done.id).status is RunStatus.SUCCEEDED
