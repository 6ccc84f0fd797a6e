"""The run summary the writer keeps (issue 19, migration 0009): after any mix of batches,
re-written batches, ingests and ended runs, ``run_tallies`` and ``run_progress`` are
what a recount of the log gives, on SQLite and PostgreSQL; a store migrated from 0008
is summarised in SQL; the run page's reads of it are primary-key seeks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from hoist.errors import RunWriteError
from hoist.runs.models import (
    ArtifactEvent,
    Event,
    EventBase,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    Run,
    RunStatus,
    StatusEvent,
)
from hoist.runs.store import RunStore
from hoist.runs.store.migrate import alembic_config, current_revision
from hoist.runs.store.revision import HEAD_REVISION
from hoist.runs.store.rows import batch_rows, dumps, event_row, event_unit, row_to_event
from hoist.runs.store.schema import events, run_progress, run_tallies
from hoist.runs.store.tallies import bar_of

CATEGORIES = (None, "epochs", "", "é", 'a"b\\c', "tab\there", '"category":x')


def _events(run_id: str, seqs: Sequence[int]) -> list[EventBase]:
    """A mix of types and progress bars at ``seqs``."""
    out: list[EventBase] = []
    for seq in seqs:
        kind = seq % 5
        if kind < 3:
            category = CATEGORIES[(seq // 5 + seq) % len(CATEGORIES)]
            out.append(ProgressEvent(run_id=run_id, seq=seq, ts=float(seq), current=seq,
                                     total=100, category=category))  # fmt: skip
        elif kind == 3:
            out.append(MetricsEvent(run_id=run_id, seq=seq, ts=float(seq), values={"x": seq}))
        else:
            out.append(LogEvent(run_id=run_id, seq=seq, ts=float(seq), message=f"m{seq}"))
    return out


def _summary(store: RunStore) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        tallies = {tuple(row) for row in conn.execute(sa.select(run_tallies))}
        bars = {tuple(row) for row in conn.execute(sa.select(run_progress))}
    return tallies, bars


def _recount(store: RunStore) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The summary counted from every stored event."""
    counts: Counter[tuple[str, str]] = Counter()
    bars: dict[tuple[str, str], int] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(sa.select(events).order_by(events.c.run_id, events.c.seq)):
            counts[(row.run_id, row.type)] += 1
            if row.type == "progress":
                event = row_to_event(row)
                assert isinstance(event, ProgressEvent)
                bars[(row.run_id, dumps(event.category))] = row.seq
    return (
        {(*key, n) for key, n in counts.items()},
        {(*key, seq) for key, seq in bars.items()},
    )


def _latest(log: Sequence[Event]) -> dict[str | None, int]:
    out: dict[str | None, int] = {}
    for event in log:
        if isinstance(event, ProgressEvent):
            out[event.category] = event.seq
    return out


def _check_reads(store: RunStore, run_ids: Sequence[str]) -> None:
    """The reads from the summary answer what the whole log says."""
    mains = store.main_progress_among(run_ids)
    for run_id in run_ids:
        log = store.events(run_id)
        assert store.event_counts(run_id) == dict(Counter(e.type for e in log))
        assert store.count_events(run_id) == len(log)
        latest = _latest(log)
        assert {k: e.seq for k, e in store.latest_progress(run_id).items()} == latest
        main = mains.get(run_id)
        assert (main.seq if main else None) == latest.get(None)


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = RunStore(store_url)
    yield s
    s.close()


def test_the_summary_is_a_recount_after_any_mix_of_writes(store: RunStore) -> None:
    ids = ["run-a", "run-b", "run-c"]
    store.write_batch([Run(id=i, status=RunStatus.RUNNING) for i in ids], [])
    store.write_batch([], _events("run-a", range(1, 40)) + _events("run-b", range(1, 9)))
    # The sink's path: rows made on the emitting thread, one batch of several runs.
    units = [event_unit(e) for e in _events("run-c", range(1, 30)) + _events("run-a", [40])]
    store.write_rows(*batch_rows(units))
    # Written again (a retried batch), and with new events besides: counted once.
    store.write_batch([], _events("run-b", range(1, 9)))
    store.write_batch([], _events("run-b", range(5, 20)) + _events("run-a", range(41, 60)))
    # One key twice in a batch: the first is stored.
    twice = [*_events("run-c", [30]), ArtifactEvent(run_id="run-c", seq=30, ts=1.0, path="x")]
    store.write_batch([], twice)
    # A batch whose events come out of order.
    store.write_batch([], _events("run-c", range(45, 30, -1)))
    # Many runs in one batch (SQLite upserts them by multi-row statements).
    wide = [f"wide-{i:02}" for i in range(40)]
    store.write_batch([Run(id=i) for i in wide], [e for i in wide for e in _events(i, [1, 2, 4])])
    store.write_batch([], [e for i in wide[::2] for e in _events(i, range(2, 9))])
    assert store.mark_lost("run-b", "gone")  # the store's own end events
    assert _summary(store) == _recount(store)
    _check_reads(store, ids + wide)
    assert "artifact" not in store.event_counts("run-c")  # the second of one key


def test_ingest_counts_only_the_events_it_stores(store: RunStore) -> None:
    runs = [Run(id="w-1"), Run(id="w-2")]
    first = _events("w-1", range(1, 12)) + _events("w-2", range(1, 4))
    assert store.ingest(runs, first, writer="worker") == (2, 14)
    assert store.ingest(runs, first, writer="worker") == (0, 0)  # posted again
    running = StatusEvent(run_id="w-2", seq=4, ts=4.0, status=RunStatus.RUNNING)
    more = [*_events("w-1", range(8, 20)), running]
    assert store.ingest([], more, writer="worker") == (0, 9)
    before = _summary(store)
    with pytest.raises(RunWriteError):  # another worker's run: nothing of it is written
        store.ingest([], _events("w-1", range(20, 25)), writer="intruder")
    assert _summary(store) == before == _recount(store)
    _check_reads(store, ["w-1", "w-2"])


def test_a_store_at_0008_gets_the_summary_of_its_log(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    log = _events("old-1", range(1, 60)) + _events("old-2", range(1, 7))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0008")
        rows = [dict(zip(events.c.keys(), event_row(e), strict=True)) for e in log]
        conn.execute(events.insert(), rows)
    engine.dispose()
    store = RunStore(store_url)
    try:
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
        assert _summary(store) == _recount(store)
        bars = _summary(store)[1]
        assert {bar for run_id, bar, _ in bars if run_id == "old-1"} == {
            dumps(c) for c in CATEGORIES
        }
        # The writer's bars are the migration's: new events move them, adding none.
        store.write_batch([], _events("old-1", range(60, 80)))
        assert len(_summary(store)[1]) == len(bars)
        assert _summary(store) == _recount(store)
        _check_reads(store, ["old-1", "old-2"])
    finally:
        store.close()


def test_a_bar_is_the_category_as_the_row_holds_it() -> None:
    for category in CATEGORIES:
        data = event_row(ProgressEvent(run_id="r", seq=1, ts=0.0, current=1, total=2,
                                       category=category))[4]  # fmt: skip
        assert bar_of(data) == dumps(category)
    # Rows of other making: the category is read from the JSON.
    assert bar_of('{"category":"x","current":1,"total":2}') == '"x"'
    assert bar_of('{"current":1,"total":2}') == "null"
    assert bar_of('{"current":1,"total":2,"category":"\\u00e9"}') == '"é"'


def _plans(store: RunStore, read: Any) -> list[str]:
    """The query plans of the statements ``read`` executes."""
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        read()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)
    plans = []
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        if conn.dialect.name == "sqlite":
            for statement, params in seen:
                rows = cur.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
                plans.append("\n".join(str(row[-1]) for row in rows))
        else:
            # Small tables: PostgreSQL would rather scan them; forbid it, and a plan that
            # still scans means no index can serve the query.
            cur.execute("SET LOCAL enable_seqscan = off")
            for statement, params in seen:
                cur.execute(f"EXPLAIN {statement}", params)
                plans.append("\n".join(row[0] for row in cur.fetchall()))
    assert seen, "no query"
    return plans


def test_the_run_page_reads_of_the_summary_are_key_seeks(store: RunStore) -> None:
    short = [f"s{i}" for i in range(300)]  # a store of many runs, and a long one
    log = [e for run_id in short for e in _events(run_id, range(1, 4))]
    store.write_batch(
        [Run(id=i) for i in ["r1", "r2", *short]], log + _events("r1", range(1, 3000))
    )
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")  # the statistics of a store in use
        conn.commit()
    reads = {
        "counts": lambda: store.event_counts("r1"),
        "latest": lambda: store.latest_progress("r1"),
        "main among": lambda: store.main_progress_among(["r1", "r2"]),
    }
    for name, read in reads.items():
        for plan in _plans(store, read):
            if store.engine.dialect.name == "sqlite":
                lines = plan.splitlines()
                assert all(line.startswith("SEARCH ") for line in lines), (name, plan)
                assert all("(run_id=? AND seq=?)" in line for line in lines
                           if line.startswith("SEARCH events ")), (name, plan)  # fmt: skip
            else:
                assert "Seq Scan" not in plan, (name, plan)
                assert "run_progress_pkey" in plan or "run_tallies_pkey" in plan, (name, plan)
                lines = plan.splitlines()
                for i, line in enumerate(lines):  # each event is found by its key
                    if "events_pkey" in line or "ix_events_" in line:
                        assert "events_pkey" in line and "seq = " in lines[i + 1], plan
