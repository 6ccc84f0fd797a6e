"""Reads behind the panel's pages, all through the :class:`RunStore` (never its tables):
a page of the log by ``seq``, and the main bar of a run from its newest progress event
(:meth:`RunStore.latest_progress` reads only that event, however long the log is)."""

from __future__ import annotations

from dataclasses import dataclass

from hoist.runs.models import Event, ProgressEvent, Run
from hoist.runs.store import RunStore

__all__ = [
    "LOG_PAGE",
    "MAX_METRIC_POINTS",
    "LogWindow",
    "log_window",
    "main_of",
    "main_percent",
    "percent",
]

LOG_PAGE = 200
"""Events a run page shows at first; older ones are fetched on demand."""
MAX_METRIC_POINTS = 1000
"""The newest metrics events plotted on a run page."""


def main_percent(store: RunStore, run: Run) -> float | None:
    """The percent of a run's main bar (100 once it succeeded), ``None`` if it has none."""
    if str(run.status) == "succeeded":
        return 100.0
    return main_of(run, store.latest_progress(run.id).get(None))


def main_of(run: Run, main: ProgressEvent | None) -> float | None:
    """:func:`main_percent` from the run's newest main progress event, read already."""
    if str(run.status) == "succeeded":
        return 100.0
    return None if main is None else percent(main.current, main.total)


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

    events: list[Event]
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
