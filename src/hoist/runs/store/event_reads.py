"""Event reads that select by type: what a run page needs from a long log.

A page needs "the newest progress of each bar", "the metrics so far", "the messages";
reading them through ``RunStore.events`` would mean decoding every event of a long
run. These queries select by type, newest first and bounded, and decode only the rows
they return, so a run with 10,000 events reads as fast as one with ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from hoist.runs.models import Event, ProgressEvent
from hoist.runs.store.rows import row_to_event
from hoist.runs.store.schema import events, runs

__all__ = [
    "MAX_PROGRESS_SCAN",
    "event_counts",
    "events_of_type",
    "events_of_type_among",
    "latest_progress",
    "main_progress_among",
]

CHUNK = 500
"""Run ids per query of the ``*_among`` reads (well under every database's bound)."""

MAX_PROGRESS_SCAN = 5000
"""Progress events read (newest first) where the database cannot group by category."""


def events_of_type(
    conn: sa.Connection, run_id: str, types: Sequence[str], limit: int, *, newest_first: bool,
    after: int = 0, before: int | None = None,
) -> list[Event]:  # fmt: skip
    """Up to ``limit`` events of ``run_id`` whose type is in ``types``, by ``seq``, with
    ``after < seq < before``."""
    order = events.c.seq.desc() if newest_first else events.c.seq.asc()
    where = [events.c.run_id == run_id, events.c.type.in_(list(types)), events.c.seq > after]
    if before is not None:
        where.append(events.c.seq < before)
    query = sa.select(events).where(*where).order_by(order).limit(limit)
    return [row_to_event(row) for row in conn.execute(query)]


def event_counts(conn: sa.Connection, run_id: str) -> dict[str, int]:
    """How many events of each type the run has: counted in the ``(run_id, type, seq)``
    index, nothing decoded."""
    query = (
        sa.select(events.c.type, sa.func.count())
        .where(events.c.run_id == run_id)
        .group_by(events.c.type)
    )
    return {kind: int(n) for kind, n in conn.execute(query).all()}


def _category(dialect: str) -> Any:
    """SQL for a progress event's category, or ``None`` where the dialect has no JSON."""
    if dialect == "sqlite":
        return sa.type_coerce(events.c.data, sa.JSON)["category"].as_string()
    if dialect == "postgresql":
        return sa.cast(events.c.data, sa.JSON)["category"].as_string()
    return None


def latest_progress(conn: sa.Connection, run_id: str) -> dict[str | None, ProgressEvent]:
    """The newest progress event of each category (``None``: the run's main bar).

    On SQLite and PostgreSQL the database groups by category and only the newest event
    of each is decoded; elsewhere the run's last :data:`MAX_PROGRESS_SCAN` progress
    events are scanned.
    """
    category = _category(conn.dialect.name)
    if category is not None:
        newest = (
            sa.select(sa.func.max(events.c.seq))
            .where(events.c.run_id == run_id, events.c.type == "progress")
            .group_by(category)
            .scalar_subquery()
        )
        query = sa.select(events).where(events.c.run_id == run_id, events.c.seq.in_(newest))
        found = [row_to_event(row) for row in conn.execute(query)]
        found.sort(key=lambda e: e.seq, reverse=True)
    else:
        found = events_of_type(conn, run_id, ("progress",), MAX_PROGRESS_SCAN, newest_first=True)
    out: dict[str | None, ProgressEvent] = {}
    for event in found:
        if isinstance(event, ProgressEvent) and event.category not in out:
            out[event.category] = event
    return out


def events_of_type_among(
    conn: sa.Connection, run_ids: Sequence[str], types: Sequence[str], limit: int
) -> dict[str, list[Event]]:
    """The events of ``run_ids`` whose type is in ``types``, by run, each run's in
    ``seq`` order, at most ``limit`` in all: one query per :data:`CHUNK` runs instead of
    one per run (a pipeline's page reads the steps and artifacts of all its nodes)."""
    out: dict[str, list[Event]] = {run_id: [] for run_id in run_ids}
    left = limit
    for start in range(0, len(run_ids), CHUNK):
        chunk = list(run_ids[start : start + CHUNK])
        query = (
            sa.select(events)
            .where(events.c.run_id.in_(chunk), events.c.type.in_(list(types)))
            .order_by(events.c.run_id, events.c.seq)
            .limit(left)
        )
        rows = conn.execute(query).all()
        for row in rows:
            out[row.run_id].append(row_to_event(row))
        left -= len(rows)
        if left <= 0:
            break
    return out


def main_progress_among(conn: sa.Connection, run_ids: Sequence[str]) -> dict[str, ProgressEvent]:
    """The newest main-bar progress event (category ``None``) of each of ``run_ids`` that
    has one. The database looks it up per run from the end of its log (a short walk
    back along the primary key: the main bar moves to the last), one query per
    :data:`CHUNK` runs; a run at a time where the dialect has no JSON."""
    category = _category(conn.dialect.name)
    if category is None:
        out = {run_id: latest_progress(conn, run_id).get(None) for run_id in run_ids}
        return {k: v for k, v in out.items() if v is not None}
    newest = (
        sa.select(events.c.seq)
        .where(events.c.run_id == runs.c.id, events.c.type == "progress", category.is_(None))
        .order_by(events.c.seq.desc())
        .limit(1)
        .correlate(runs)
        .scalar_subquery()
    )
    found: dict[str, ProgressEvent] = {}
    for start in range(0, len(run_ids), CHUNK):
        chunk = list(run_ids[start : start + CHUNK])
        wanted = (
            sa.select(runs.c.id.label("run_id"), newest.label("seq"))
            .where(runs.c.id.in_(chunk))
            .subquery()
        )
        query = sa.select(events).join(
            wanted, sa.and_(events.c.run_id == wanted.c.run_id, events.c.seq == wanted.c.seq)
        )
        for row in conn.execute(query):
            event = row_to_event(row)
            if isinstance(event, ProgressEvent):
                found[row.run_id] = event
    return found
