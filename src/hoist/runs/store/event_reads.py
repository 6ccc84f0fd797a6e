"""Event reads that select by type: what a run page needs from a long log.

A page needs "the newest progress of each bar", "the metrics so far", "the messages";
reading them through ``RunStore.events`` would mean decoding every event of a long
run. These queries select by type, newest first and bounded, and decode only the rows
they return, so a run with 10,000 events reads as fast as one with ten. What would
still mean counting the log (events of each type, the newest event of each progress bar)
comes from the summary the writer keeps (:mod:`hoist.runs.store.tallies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hoist.runs.store.rows import row_to_event
from hoist.runs.store.schema import events, run_progress, run_tallies
from hoist.runs.store.tallies import MAIN_BAR

if TYPE_CHECKING:  # the event models load with pydantic, on the first event decoded
    from hoist.runs.models import Event, ProgressEvent

__all__ = [
    "RunSummaryReads",
    "event_counts",
    "events_of_type",
    "events_of_type_among",
    "latest_progress",
    "main_progress_among",
]

CHUNK = 500
"""Run ids per query of the ``*_among`` reads (well under every database's bound)."""

_named_by_bar = sa.and_(events.c.run_id == run_progress.c.run_id,
                        events.c.seq == run_progress.c.seq)  # fmt: skip


def events_of_type(
    conn: sa.Connection, run_id: str, types: Sequence[str], limit: int, *, newest_first: bool,
    after: int = 0, before: int | None = None,
) -> list[Event]:  # fmt: skip
    """Up to ``limit`` events of ``run_id`` whose type is in ``types``, by ``seq``, with
    ``after < seq < before`` (:func:`of_type_query`)."""
    query = of_type_query(run_id, types, limit, newest_first=newest_first, after=after,
                          before=before)  # fmt: skip
    return [row_to_event(row) for row in conn.execute(query)]


def of_type_query(
    run_id: str, types: Sequence[str], limit: int, *, newest_first: bool, after: int = 0,
    before: int | None = None,
) -> sa.Select[Any]:  # fmt: skip
    """The ``SELECT`` of :func:`events_of_type`. Several types are a walk of
    ``events(run_id, type, seq)`` per type, each stopping at ``limit``, merged: with an
    ``IN`` list the database walks the run's whole log in ``seq`` order instead (a
    million rows for a long run)."""
    walks = [
        _of_type(run_id, kind, limit, newest_first=newest_first, after=after, before=before)
        for kind in dict.fromkeys(types)
    ]
    if len(walks) == 1:
        return walks[0]
    merged = sa.union_all(*(sa.select(walk.subquery()) for walk in walks)).subquery()
    order = merged.c.seq.desc() if newest_first else merged.c.seq.asc()
    return sa.select(merged).order_by(order).limit(limit)


def _of_type(
    run_id: str, kind: str, limit: int, *, newest_first: bool, after: int, before: int | None
) -> sa.Select[Any]:
    order = events.c.seq.desc() if newest_first else events.c.seq.asc()
    where = [events.c.run_id == run_id, events.c.type == kind, events.c.seq > after]
    if before is not None:
        where.append(events.c.seq < before)
    return sa.select(events).where(*where).order_by(order).limit(limit)


def event_counts(conn: sa.Connection, run_id: str) -> dict[str, int]:
    """How many events of each type the run has: the writer's tallies (a few rows of
    :data:`~hoist.runs.store.schema.run_tallies`), nothing counted."""
    query = sa.select(run_tallies.c.type, run_tallies.c.count).where(run_tallies.c.run_id == run_id)
    return {kind: int(n) for kind, n in conn.execute(query).all()}


def latest_progress(conn: sa.Connection, run_id: str) -> dict[str | None, ProgressEvent]:
    """The newest progress event of each category (``None``: the run's main bar): the
    events the writer's :data:`~hoist.runs.store.schema.run_progress` names, one per
    bar, read by primary key."""
    query = (
        sa.select(events).join(run_progress, _named_by_bar).where(run_progress.c.run_id == run_id)
    )
    found = [row_to_event(row) for row in conn.execute(query)]
    found.sort(key=lambda e: e.seq, reverse=True)
    out: dict[str | None, ProgressEvent] = {}
    for event in found:
        if event.type == "progress" and event.category not in out:
            out[event.category] = event
    return out


def events_of_type_among(
    conn: sa.Connection, run_ids: Sequence[str], types: Sequence[str], limit: int
) -> dict[str, list[Event]]:
    """The events of ``run_ids`` whose type is in ``types``, by run, each run's in
    ``seq`` order, at most ``limit`` in all: one query per :data:`CHUNK` runs instead of
    one per run (a pipeline's page reads the steps and artifacts of all its nodes). As in
    :func:`of_type_query`, each type is a walk of ``events(run_id, type, seq)``, merged:
    with an ``IN`` list of types the database read a long child's whole log."""
    out: dict[str, list[Event]] = {run_id: [] for run_id in run_ids}
    left = limit
    for start in range(0, len(run_ids), CHUNK):
        chunk = list(run_ids[start : start + CHUNK])
        query = among_query(chunk, types, left)
        rows = conn.execute(query).all()
        for row in rows:
            out[row.run_id].append(row_to_event(row))
        left -= len(rows)
        if left <= 0:
            break
    return out


def among_query(run_ids: Sequence[str], types: Sequence[str], limit: int) -> sa.Select[Any]:
    """The ``SELECT`` of :func:`events_of_type_among` for one chunk of runs: a walk of
    ``events(run_id, type, seq)`` per type, merged in ``(run_id, seq)`` order."""
    walks = [
        sa.select(events)
        .where(events.c.run_id.in_(list(run_ids)), events.c.type == kind)
        .order_by(events.c.run_id, events.c.seq)
        .limit(limit)
        for kind in dict.fromkeys(types)
    ]
    if len(walks) == 1:
        return walks[0]
    merged = sa.union_all(*(sa.select(walk.subquery()) for walk in walks)).subquery()
    return sa.select(merged).order_by(merged.c.run_id, merged.c.seq).limit(limit)


def main_progress_among(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, ProgressEvent]:
    """The newest main-bar progress event (category ``None``) of each of ``run_ids`` that
    has one: the events the writer's :data:`~hoist.runs.store.schema.run_progress` names
    for the main bar, read by primary key, one query per :data:`CHUNK` runs."""
    found: dict[str, ProgressEvent] = {}
    for start in range(0, len(run_ids), CHUNK):
        chunk = list(run_ids[start : start + CHUNK])
        query = (
            sa.select(events)
            .join(run_progress, _named_by_bar)
            .where(run_progress.c.run_id.in_(chunk), run_progress.c.bar == MAIN_BAR)
        )
        for row in conn.execute(query):
            event = row_to_event(row)
            if event.type == "progress":
                found[row.run_id] = event
    return found


class RunSummaryReads:
    """The reads above as :class:`~hoist.runs.store.RunStore` methods (kept apart: the
    store's part that answers a run page's summaries, bounded however long the log)."""

    engine: sa.Engine

    def events_of_type(
        self, run_id: str, types: Sequence[str], limit: int, *, newest_first: bool = False,
        after: int = 0, before: int | None = None,
    ) -> list[Event]:  # fmt: skip
        """Up to ``limit`` of the run's events whose type is in ``types`` and whose seq
        lies between ``after`` and ``before`` (both excluded), in ``seq`` order (newest
        first if asked): one indexed read, however long the log is."""
        with self.engine.connect() as conn:
            return events_of_type(conn, run_id, types, limit,
                                              newest_first=newest_first, after=after,
                                              before=before)  # fmt: skip

    def latest_progress(self, run_id: str) -> dict[str | None, ProgressEvent]:
        """The newest progress event of each category (``None``: the run's main bar)."""
        with self.engine.connect() as conn:
            return latest_progress(conn, run_id)

    def events_of_type_among(
        self, run_ids: Sequence[str], types: Sequence[str], limit: int = 100_000
    ) -> dict[str, list[Event]]:
        """:meth:`events_of_type` of many runs at once (each run's in ``seq`` order, at
        most ``limit`` in all): a few queries however many runs."""
        with self.engine.connect() as conn:
            return events_of_type_among(conn, run_ids, types, limit)

    def main_progress_among(self, run_ids: Sequence[str]) -> dict[str, ProgressEvent]:
        """The newest main-bar progress event of each of ``run_ids`` that has one (the
        main bar of :meth:`latest_progress`, for many runs at once)."""
        with self.engine.connect() as conn:
            return main_progress_among(conn, run_ids)

    def event_counts(self, run_id: str) -> dict[str, int]:
        """How many events of each type the run has (an index count: nothing decoded)."""
        with self.engine.connect() as conn:
            return event_counts(conn, run_id)

    def count_events(self, run_id: str) -> int:
        """How many events the run has (the sum of its few tallies)."""
        with self.engine.connect() as conn:
            return sum(event_counts(conn, run_id).values())
