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
from hoist.runs.store.schema import events

__all__ = ["MAX_PROGRESS_SCAN", "events_of_type", "latest_progress"]

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
