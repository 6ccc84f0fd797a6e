"""Reads that stay flat as the store grows (issue 19): every list filter's query plan
walks an index in the list's order, keyset pages, id prefixes as primary-key ranges,
and a long run's events of one type through ``events(run_id, type, seq)``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from hoist.errors import RunNotFoundError
from hoist.runs.models import (
    ArtifactEvent,
    EventBase,
    ProgressEvent,
    Run,
    RunKind,
    RunStatus,
    StepEvent,
)
from hoist.runs.reader import RunFilter, page_cursor, parse_cursor
from hoist.runs.store import RunStore
from hoist.runs.store.event_reads import among_query, events_of_type, of_type_query
from hoist.runs.store.listing import list_query
from hoist.runs.store.schema import events, runs, short_id_of

FILTERS = {
    "newest": RunFilter(),
    "status": RunFilter(status=[RunStatus.FAILED]),
    "plugin": RunFilter(plugin="p1"),
    "action": RunFilter(action="a1"),
    "kind": RunFilter(kind="pipeline"),
    "parent": RunFilter(parent_id="0" * 24),
    "status+plugin": RunFilter(status=[RunStatus.FAILED], plugin="p1"),
    "cursor": RunFilter(cursor=(5.0, "x")),
    "status+cursor": RunFilter(status=[RunStatus.FAILED], cursor=(5.0, "x")),
    "statuses": RunFilter(status=[RunStatus.FAILED, RunStatus.LOST], offset=3),
    "statuses+plugin+cursor": RunFilter(
        status=[RunStatus.FAILED, RunStatus.LOST], plugin="p1", cursor=(5.0, "x")
    ),
}
MERGED = {"statuses", "statuses+plugin+cursor"}  # a walk per status, then a merge


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    s = RunStore(store_url)
    runs = [
        Run(id=f"{i:024x}", plugin=f"p{i % 3}", action=f"a{i % 4}", created_at=float(i % 7),
            status=RunStatus.FAILED if i % 5 == 0 else RunStatus.SUCCEEDED,
            kind=RunKind.PIPELINE if i % 10 == 0 else RunKind.ACTION,
            parent_id=None if i % 10 == 0 else f"{i - i % 10:024x}")
        for i in range(60)
    ]  # fmt: skip
    s.write_batch(runs, [])
    yield s
    s.close()


def _plan(conn: sa.Connection, query: sa.Select) -> str:  # type: ignore[type-arg]
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
        return "\n".join(str(row[-1]) for row in rows)
    # On a small table PostgreSQL prefers a sequential scan: forbid it, and a plan
    # that still has one means no index can serve the query.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))


@pytest.mark.parametrize("name", list(FILTERS))
def test_every_list_filter_walks_an_index_in_the_list_order(store: RunStore, name: str) -> None:
    with store.engine.begin() as conn:
        plan = _plan(conn, list_query(FILTERS[name], conn.dialect.name))
    if store.engine.dialect.name == "sqlite":
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert "SCAN runs\n" not in f"{plan}\n", plan
        if name in MERGED:  # each walk in index order (its page's rows sorted to merge)
            assert "MERGE (UNION ALL)" in plan and plan.count("USING INDEX") == 2, plan
        else:
            assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order
    else:
        assert "Index" in plan and "Seq Scan" not in plan, plan
        if name in MERGED:
            assert plan.count("Index") >= 2, plan
        else:
            assert "Sort" not in plan, plan


def test_a_long_run_s_events_of_one_type_are_an_index_seek(store: RunStore) -> None:
    query = sa.select(events).where(events.c.run_id == "r", events.c.type == "artifact")
    with store.engine.begin() as conn:
        plan = _plan(conn, query.order_by(events.c.seq.desc()).limit(5))
    assert "ix_events_run_type_seq" in plan, plan


@pytest.mark.parametrize("newest_first", [False, True])
def test_events_of_several_types_are_a_seek_per_type(store: RunStore, newest_first: bool) -> None:
    # An IN list of types made SQLite walk the run's whole log in seq order.
    query = of_type_query("r", ("step", "artifact"), 100, newest_first=newest_first)
    with store.engine.begin() as conn:
        plan = _plan(conn, query)
    assert plan.count("ix_events_run_type_seq") == 2, plan
    assert "sqlite_autoindex_events" not in plan and "events_pkey" not in plan, plan
    evs: list[EventBase] = [
        StepEvent(run_id="r", seq=s, ts=1.0, step=f"s{s}", phase="started") for s in (1, 4)
    ]
    evs += [ArtifactEvent(run_id="r", seq=s, ts=1.0, path=f"{s}") for s in (2, 3, 5)]
    store.write_batch([Run(id="r")], evs)
    found = store.events_of_type("r", ("step", "artifact", "step"), 4, newest_first=newest_first)
    assert [e.seq for e in found] == ([5, 4, 3, 2] if newest_first else [1, 2, 3, 4])


def test_keyset_pages_cover_every_run_once_in_order(store: RunStore) -> None:
    expected = store.list_runs(RunFilter(limit=500))
    seen: list[Run] = []
    cursor = None
    while True:
        page = store.list_runs(RunFilter(limit=7, cursor=cursor))
        if not page:
            break
        seen += page
        cursor = parse_cursor(page_cursor(page[-1]))
    assert [r.id for r in seen] == [r.id for r in expected]
    assert len(seen) == 60


def test_a_keyset_page_keeps_its_filter(store: RunStore) -> None:
    first = store.list_runs(RunFilter(status=[RunStatus.FAILED], limit=3))
    rest = store.list_runs(
        RunFilter(status=[RunStatus.FAILED], limit=50, cursor=(first[-1].created_at, first[-1].id))
    )
    assert len(first) + len(rest) == 12
    assert all(r.status is RunStatus.FAILED for r in first + rest)
    assert not {r.id for r in first} & {r.id for r in rest}


def test_a_cursor_is_checked() -> None:
    assert parse_cursor("1.5~abc") == (1.5, "abc")
    for bad in ("", "1.5", "x~abc", "1.5~"):
        with pytest.raises(ValueError):
            parse_cursor(bad)


def test_prefixes_are_ranges_of_the_key(store: RunStore) -> None:
    store.write_batch([Run(id="abcdef123"), Run(id="abcdef124"), Run(id="abcdeg_1")], [])
    assert store.get_run("abcdef123").id == "abcdef123"
    assert store.get_run("abcdeg").id == "abcdeg_1"
    with pytest.raises(RunNotFoundError):
        store.get_run("abcdef")  # two runs
    with pytest.raises(RunNotFoundError):
        store.get_run("abcdef12_")  # "_" is no wildcard
    with pytest.raises(RunNotFoundError):
        store.get_run("f" * 24)


def test_a_short_id_is_a_seek_of_its_index(store: RunStore) -> None:
    query = sa.select(runs.c.id).where(short_id_of(runs.c.id) == "0000003b").limit(6)
    with store.engine.begin() as conn:
        plan = _plan(conn, query)
    assert "ix_runs_short_id" in plan, plan


def test_short_ids_resolve_and_an_ambiguous_one_is_named(store: RunStore) -> None:
    # Two ids of one tail (another process's tag, the same counter): ambiguous.
    twin_a, twin_b = "0190aa00000001aa1234abcd", "0190bb00000002bb1234abcd"
    store.write_batch([Run(id=twin_a), Run(id=twin_b)], [])
    assert store.get_run("0000003b").id == f"{59:024x}"  # its last 8 hex digits
    assert store.get_run("0000003B").id == f"{59:024x}"  # as typed, any case
    with pytest.raises(RunNotFoundError):
        store.get_run("1234abcd")
    assert sorted(store.short_id_matches("1234ABCD")) == [twin_a, twin_b]
    assert store.short_id_matches("9999abcd") == []


def test_latest_progress_and_artifacts_of_a_long_run(store: RunStore) -> None:
    evs = [
        ProgressEvent(run_id=f"{0:024x}", seq=s, ts=float(s), current=s, total=100,
                      category=(None, "epochs", "batches")[s % 3])
        for s in range(1, 100)
    ] + [ArtifactEvent(run_id=f"{0:024x}", seq=100, ts=100.0, path="model.pt")]  # fmt: skip
    store.write_batch([], evs)
    latest = store.latest_progress(f"{0:024x}")
    assert {k: v.seq for k, v in latest.items()} == {None: 99, "epochs": 97, "batches": 98}
    with store.engine.connect() as conn:
        found = events_of_type(conn, f"{0:024x}", ("artifact",), 5, newest_first=True)
    assert [e.seq for e in found] == [100]


def test_events_of_several_types_among_runs_are_a_seek_per_type(store: RunStore) -> None:
    # A pipeline's page reads its nodes' steps and artifacts: with an IN list of types
    # SQLite walked each node's whole log (360 ms for a node of a million events).
    with store.engine.begin() as conn:
        plan = _plan(conn, among_query(["a", "b"], ("step", "artifact"), 100))
    assert plan.count("ix_events_run_type_seq") == 2, plan
    evs: list[EventBase] = [
        StepEvent(run_id=r, seq=s, ts=1.0, step=f"s{s}", phase="started")
        for r in ("a", "b") for s in (1, 3)
    ]  # fmt: skip
    evs += [ArtifactEvent(run_id=r, seq=2, ts=1.0, path="f") for r in ("a", "b")]
    store.write_batch([Run(id="a"), Run(id="b")], evs)
    found = store.events_of_type_among(["a", "b"], ("step", "artifact"), 5)
    assert {r: [e.seq for e in found[r]] for r in found} == {"a": [1, 2, 3], "b": [1, 2]}


def test_sqlite_statistics_are_gathered_and_refreshed_as_the_store_grows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'stats.db'}"

    def analysed_runs() -> int | None:
        with sqlite3.connect(tmp_path / "stats.db") as conn:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).fetchone():
                return None
            row = conn.execute(
                "SELECT stat FROM sqlite_stat1 WHERE idx = 'ix_runs_created'"
            ).fetchone()
            return int(row[0].split()[0]) if row else 0

    def add(store: RunStore, start: int, count: int) -> None:
        store.write_batch(
            [Run(id=f"{i:024x}", created_at=float(i)) for i in range(start, start + count)], []
        )

    store = RunStore(url)
    store.close()
    assert analysed_runs() is None  # nothing to analyse in an empty store
    store = RunStore(url)
    add(store, 0, 100)
    store.close()
    assert analysed_runs() == 100
    store = RunStore(url)
    add(store, 100, 50)  # grown by half: the statistics still serve
    store.close()
    assert analysed_runs() == 100
    store = RunStore(url)
    add(store, 150, 100)  # 250 runs: more than twice as many
    store.close()
    assert analysed_runs() == 250
