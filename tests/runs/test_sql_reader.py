"""The store's read-only reader (issue 19: CLI start-up without SQLAlchemy) reads what the
store reads, through the same indexes, on SQLite and PostgreSQL, and steps aside whenever
the store has something to do first; stored events decode by hand as pydantic decodes
them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.runs.test_summaries import EXAMPLES

from hoist.errors import RunNotFoundError
from hoist.runs.events import EVENT_ADAPTER
from hoist.runs.models import (
    EventBase,
    LogEvent,
    OutputEvent,
    ProgressEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.reader import RunFilter
from hoist.runs.store import RunStore
from hoist.runs.store.rows import event_row, row_to_event
from hoist.runs.store.sql_reader import RunReader, open_run_reader

PIPE = f"{0:024x}"
TWINS = ("0190aa00000001aa1234abcd", "0190bb00000002bb1234abcd")


@pytest.fixture
def url(store_url: str) -> Iterator[str]:
    url = store_url
    store = RunStore(url)
    now = time.time()
    runs = [
        Run(id=f"{i:024x}", plugin=f"p{i % 3}", action=f"a{i % 4}",
            created_at=now - 1000 + i % 7, started_at=now - 1000, heartbeat_at=now - 1000,
            status=(RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.CANCELLED)[i % 3],
            kind=RunKind.PIPELINE if i % 10 == 0 else RunKind.ACTION,
            parent_id=None if i % 10 == 0 else f"{i - i % 10:024x}", params={"n": i})
        for i in range(60)
    ]  # fmt: skip
    runs += [Run(id=t, created_at=now - 2000, status=RunStatus.SUCCEEDED) for t in TWINS]
    runs += [Run(id="abcdef123"), Run(id="abcdef124")]
    events: list[EventBase] = [
        ProgressEvent(run_id=PIPE, seq=s, ts=float(s), current=s, total=50,
                      category=(None, "epochs")[s % 2])
        for s in range(1, 41)
    ]  # fmt: skip
    events += [LogEvent(run_id=PIPE, seq=41, ts=41.0, message="done"),
               StepEvent(run_id=PIPE, seq=42, ts=42.0, step="load", phase="finished"),
               OutputEvent(run_id=PIPE, seq=43, ts=43.0, body={"n": 1}, format="json")]  # fmt: skip
    store.write_batch(runs, events)
    store.close()
    yield url


@pytest.fixture
def pair(url: str) -> Iterator[tuple[RunStore, RunReader]]:
    reader = open_run_reader(url)
    assert reader is not None
    store = RunStore(url)
    yield store, reader
    reader.close()
    store.close()


FILTERS = [
    RunFilter(limit=500),
    RunFilter(limit=7),
    RunFilter(limit=5, offset=9),
    RunFilter(status=[RunStatus.FAILED]),
    RunFilter(status=[RunStatus.FAILED, "cancelled"]),  # type: ignore[list-item]
    RunFilter(status=[RunStatus.FAILED, RunStatus.CANCELLED], limit=4, offset=5),
    RunFilter(status=[RunStatus.SUCCEEDED, RunStatus.FAILED], cursor=(time.time() - 996, "f" * 24)),
    RunFilter(plugin="p1", action="a2"),
    RunFilter(kind="pipeline"),
    RunFilter(parent_id=PIPE),
    RunFilter(status=[RunStatus.FAILED], plugin="p1", limit=3),
    RunFilter(since=time.time() - 998),
    RunFilter(until=time.time() - 998),
    RunFilter(cursor=(time.time() - 997, f"{30:024x}")),
    RunFilter(status=[RunStatus.SUCCEEDED], cursor=(time.time() - 995, "f" * 24), limit=4),
    RunFilter(plugin="nope"),
]


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
def test_lists_as_the_store_lists(pair: tuple[RunStore, RunReader], flt: RunFilter) -> None:
    store, reader = pair
    assert reader.list_runs(flt) == store.list_runs(flt)


def test_a_params_filter_is_refused_not_ignored(pair: tuple[RunStore, RunReader]) -> None:
    with pytest.raises(ValueError, match="params"):
        pair[1].list_runs(RunFilter(params={"n": 3}))


@pytest.mark.parametrize(
    "typed",
    [PIPE, PIPE[:10], f"{59:024x}"[-8:], f"{59:024x}"[-8:].upper(), "abcdef123", "abcdef",
     "1234abcd", "f" * 24, "0123456789", "abc", "ffffffff"],
)  # fmt: skip
def test_finds_runs_as_the_store_finds_them(pair: tuple[RunStore, RunReader], typed: str) -> None:
    store, reader = pair
    try:
        expected: Run | None = store.get_run(typed)
    except RunNotFoundError:
        expected = None
    if expected is None:
        with pytest.raises(RunNotFoundError):
            reader.get_run(typed)
    else:
        assert reader.get_run(typed) == expected
    assert reader.short_id_matches(typed) == store.short_id_matches(typed)


def test_reads_events_as_the_store_reads_them(pair: tuple[RunStore, RunReader]) -> None:
    store, reader = pair
    for after, limit in ((0, None), (10, 5), (40, 100), (43, None)):
        assert reader.events(PIPE, after, limit) == store.events(PIPE, after, limit)
    for types, newest in ((("progress",), True), (("step", "output"), False), (("x",), True),
                          (("log", "progress", "log"), True)):  # fmt: skip
        assert reader.events_of_type(PIPE, types, 3, newest_first=newest) == (
            store.events_of_type(PIPE, types, 3, newest_first=newest)
        )
    assert reader.event_counts(PIPE) == store.event_counts(PIPE) == {
        "progress": 40, "log": 1, "step": 1, "output": 1}  # fmt: skip


def test_its_reads_walk_the_store_s_indexes(pair: tuple[RunStore, RunReader]) -> None:
    _, reader = pair
    statements: list[tuple[str, tuple[object, ...]]] = []
    run = reader.query
    reader.query = lambda sql, args: statements.append((sql, tuple(args))) or run(sql, args)  # type: ignore[func-returns-value]
    for flt in FILTERS[1:-1]:
        reader.list_runs(flt)
    with pytest.raises(RunNotFoundError):
        reader.get_run("1234abcd")  # exact, prefix and short-form lookups (ambiguous)
    reader.events_of_type(PIPE, ("progress",), 3, newest_first=True)
    reader.events_of_type(PIPE, ("step", "output", "progress"), 3, newest_first=False)
    reader.query = run
    assert len(statements) >= len(FILTERS)
    sqlite = pair[0].engine.dialect.name == "sqlite"
    if not sqlite:  # a small table is read whole (and sorted) unless that is forbidden
        run("SET enable_seqscan = off", ())
        run("SET enable_sort = off", ())
    for sql, args in statements:
        if sqlite:
            plan = "\n".join(r["detail"] for r in run(f"EXPLAIN QUERY PLAN {sql}", args))
            assert "USING" in plan and "SCAN runs\n" not in f"{plan}\n", (sql, plan)
            if "UNION ALL" in sql:  # a walk per status or type, each in index order, merged
                assert "MERGE (UNION ALL)" in plan, (sql, plan)
            else:
                assert "TEMP B-TREE" not in plan, (sql, plan)
        else:
            plan = "\n".join(r["QUERY PLAN"] for r in run(f"EXPLAIN {sql}", args))
            assert "Index" in plan and "Seq Scan" not in plan, (sql, plan)
            if "UNION ALL" not in sql:
                assert "Sort" not in plan, (sql, plan)


def test_steps_aside_when_the_store_has_work_first(url: str, tmp_path: Path) -> None:
    assert open_run_reader("mysql://root@127.0.0.1/test") is None
    assert open_run_reader("postgresql://postgres@127.0.0.1:1/test") is None  # no server
    assert open_run_reader(f"sqlite:///{tmp_path / 'none.db'}") is None
    assert open_run_reader("sqlite://") is None  # in memory
    store = RunStore(url)
    with store.engine.begin() as conn:  # an older schema: migrate first
        conn.exec_driver_sql("DROP INDEX ix_runs_short_id")  # as migration 0010 found it
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0009'")
    store.close()
    assert open_run_reader(url) is None
    RunStore(url).close()  # migrates it back to head
    reader = open_run_reader(url)
    assert reader is not None
    reader.close()
    store = RunStore(url)  # a running run whose worker stopped beating: reap first
    store.write_batch([Run(id="silent", status=RunStatus.RUNNING, created_at=1.0)], [])
    store.close()
    assert open_run_reader(url) is None
    patient = open_run_reader(url, stale_after=1e12)  # silent, but not for that long
    assert patient is not None
    patient.close()
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).write_text("not a database")
        assert open_run_reader(url) is None


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.type)
def test_stored_events_decode_by_hand_as_pydantic_decodes_them(event: EventBase) -> None:
    run_id, seq, ts, kind, data = event_row(event)
    row = SimpleNamespace(run_id=run_id, seq=seq, ts=ts, type=kind, data=data)
    by_hand = row_to_event(row)
    validated = EVENT_ADAPTER.validate_python(
        {**json.loads(data), "run_id": run_id, "seq": seq, "ts": ts, "type": kind}
    )
    assert by_hand == validated == event
    assert type(by_hand) is type(event)
    if isinstance(by_hand, StatusEvent):
        assert by_hand.status is RunStatus.SUCCEEDED


def test_a_row_the_class_does_not_take_is_validated() -> None:
    data = '{"message": "m", "level": "INFO", "from_the_future": 1}'
    row = SimpleNamespace(run_id="r", seq=1, ts=1.0, type="log", data=data)
    assert row_to_event(row) == LogEvent(run_id="r", seq=1, ts=1.0, message="m")
