"""Reads behind the panel's pages, straight from the run store's tables.

The store's public API pages events by ``seq``; a page also needs "the newest progress
of each bar", "the metrics so far", "the messages", which would mean decoding every
event of a long run. These queries select by type and decode only the JSON payload of
the rows they need, newest first and bounded, so a run with 10,000 events renders as
fast as one with ten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hoist.runs.models import Run
from hoist.runs.store import RunStore
from hoist.runs.store.schema import events as events_table

__all__ = [
    "LOG_PAGE",
    "MAX_METRIC_POINTS",
    "MAX_PROGRESS_SCAN",
    "LogWindow",
    "Row",
    "latest_progress",
    "log_window",
    "rows",
]

LOG_PAGE = 200
"""Events a run page shows at first; older ones are fetched on demand."""
MAX_METRIC_POINTS = 1000
"""The newest metrics events plotted on a run page."""
MAX_PROGRESS_SCAN = 5000
"""Progress events read (newest first) to find each bar's latest value."""


@dataclass(frozen=True, slots=True)
class Row:
    """One event as the panel reads it: the envelope and the decoded payload."""

    run_id: str
    seq: int
    ts: float
    type: str
    data: dict[str, Any]


def rows(
    conn: sa.Connection,
    run_id: str,
    types: Sequence[str],
    limit: int,
    *,
    newest_first: bool = True,
) -> list[Row]:
    """Up to ``limit`` events of ``run_id`` whose type is in ``types``."""
    t = events_table
    order = t.c.seq.desc() if newest_first else t.c.seq.asc()
    query = (
        sa.select(t.c.seq, t.c.ts, t.c.type, t.c.data)
        .where(t.c.run_id == run_id, t.c.type.in_(list(types)))
        .order_by(order)
        .limit(limit)
    )
    return [Row(run_id, r.seq, r.ts, r.type, json.loads(r.data)) for r in conn.execute(query)]


def _category(dialect: str) -> Any:
    """SQL for a progress event's category, or ``None`` where the dialect has no JSON."""
    t = events_table
    if dialect == "sqlite":
        return sa.type_coerce(t.c.data, sa.JSON)["category"].as_string()
    if dialect == "postgresql":
        return sa.cast(t.c.data, sa.JSON)["category"].as_string()
    return None


def latest_progress(
    conn: sa.Connection, run_id: str, limit: int = MAX_PROGRESS_SCAN
) -> dict[str | None, tuple[float, float]]:
    """The newest ``(current, total)`` of each progress category (``None``: the run's
    main bar).

    On SQLite and PostgreSQL the database groups by category and only the newest event
    of each is decoded; elsewhere the run's last ``limit`` progress events are scanned.
    """
    t = events_table
    category = _category(conn.dialect.name)
    found: dict[str | None, tuple[float, float]] = {}
    if category is not None:
        newest = (
            sa.select(sa.func.max(t.c.seq))
            .where(t.c.run_id == run_id, t.c.type == "progress")
            .group_by(category)
            .scalar_subquery()
        )
        query = sa.select(t.c.data).where(t.c.run_id == run_id, t.c.seq.in_(newest))
        decoded = [json.loads(data) for data in conn.execute(query).scalars()]
    else:
        decoded = [row.data for row in rows(conn, run_id, ("progress",), limit)]
    for data in decoded:
        name = data.get("category")
        if name not in found:
            found[name] = (float(data["current"]), float(data["total"]))
    return found


def main_percent(conn: sa.Connection, run: Run) -> float | None:
    """The percent of a run's main bar (100 once it succeeded), ``None`` if it has none."""
    if str(run.status) == "succeeded":
        return 100.0
    main = latest_progress(conn, run.id).get(None)
    return None if main is None else percent(*main)


def percent(current: float, total: float) -> float:
    """``current`` of ``total`` as a percent in 0..100 (0 for a zero total)."""
    if total <= 0:
        return 0.0
    return round(max(0.0, min(100.0, 100.0 * current / total)), 1)


@dataclass(frozen=True, slots=True)
class LogWindow:
    """A page of a run's events, in ``seq`` order.

    Attributes:
        events: the events (decoded models).
        first_seq: the seq of the first event shown (``last_seq + 1`` when empty).
        last_seq: the seq of the last event shown.
        total: how many events the run has.
    """

    events: list[Any]
    first_seq: int
    last_seq: int
    total: int

    @property
    def has_earlier(self) -> bool:
        """True when events before this page exist."""
        return self.first_seq > 1


def log_window(store: RunStore, run_id: str, before: int | None, limit: int) -> LogWindow:
    """The ``limit`` events right before ``before`` (default: the newest ones).

    Event seqs are 1-based and gap-free, so a window is one range read of the
    primary key however long the log is.
    """
    total = store.count_events(run_id)
    end = total if before is None else max(0, min(before - 1, total))
    start = max(0, end - limit)
    found = store.events(run_id, start, end - start) if end > start else []
    return LogWindow(found, start + 1, end, total)
