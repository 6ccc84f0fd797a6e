"""What every view of the run log can ask: the :class:`RunLog` protocol, and the one rule
that turns events into a run's summary fields."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hoist.runs.models import EventBase, Run, RunStatus

if TYPE_CHECKING:
    from hoist.runs.models import Event

__all__ = [
    "FOLLOW_POLL",
    "STALE_AFTER",
    "RunFilter",
    "RunLog",
    "cursor_text",
    "follow_events",
    "page_cursor",
    "parse_cursor",
    "run_updates",
]

FOLLOW_POLL = 0.025
"""Seconds between reads of a followed run's new events (an indexed read: cheap)."""

STALE_AFTER = 15.0
"""Seconds without a heartbeat after which a running run's worker is taken to be dead
(workers heartbeat every 5 s)."""


@dataclass(frozen=True)
class RunFilter:
    """Which runs :meth:`RunLog.list_runs` returns (all given conditions must hold).

    ``params`` keeps the runs whose params hold each of its keys with an equal JSON
    value (typed: ``3`` matches ``3`` and ``3.0``, not ``"3"``).

    ``cursor`` pages by keyset: the ``(created_at, id)`` of the last run of the previous
    page (:func:`page_cursor`), so that the next page starts right after it whatever its
    depth; ``offset`` skips rows one by one and is meant for small offsets only.
    """

    status: Sequence[RunStatus] | None = None
    plugin: str | None = None
    action: str | None = None
    kind: str | None = None
    parent_id: str | None = None
    since: float | None = None
    until: float | None = None
    params: Mapping[str, Any] | None = None
    limit: int = 50
    offset: int = 0
    cursor: tuple[float, str] | None = None


def page_cursor(run: Run) -> str:
    """The opaque cursor of the page after ``run`` (the last run of a page), as an API
    response's ``next`` carries it: ``created_at`` (exact) and the id."""
    return cursor_text((run.created_at, run.id))


def cursor_text(cursor: tuple[float, str]) -> str:
    """:attr:`RunFilter.cursor` as the text :func:`parse_cursor` reads back."""
    return f"{cursor[0]!r}~{cursor[1]}"


def parse_cursor(text: str) -> tuple[float, str]:
    """The ``(created_at, id)`` of a :func:`page_cursor`.

    Raises:
        ValueError: ``text`` is not one.
    """
    created, sep, run_id = text.partition("~")
    if not sep or not run_id:
        raise ValueError(f"not a page cursor: {text!r}")
    return float(created), run_id


@runtime_checkable
class RunLog(Protocol):
    """Read access to runs and their events (the store, or a memory sink in tests)."""

    def get_run(self, run_id: str) -> Run:
        """The run, or :class:`~hoist.errors.RunNotFoundError`."""
        ...

    def list_runs(self, flt: RunFilter | None = None) -> list[Run]:
        """Runs matching ``flt``, newest first."""
        ...

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Event]:
        """The run's events with ``seq > after_seq``, in order."""
        ...

    def request_cancel(self, run_id: str) -> None:
        """Ask the run to stop at its next cancellation point."""
        ...

    def is_cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` was called for the run."""
        ...


def run_updates(event: EventBase) -> dict[str, Any] | None:
    """The run fields an event changes, or ``None`` for events that change none.

    Every store applies events through this one function so that the summary row and
    the log can never disagree.
    """
    kind = getattr(event, "type", None)
    if kind == "status":
        status = event.status  # type: ignore[attr-defined]
        updates: dict[str, Any] = {"status": status, "heartbeat_at": event.ts}
        if status is RunStatus.RUNNING:
            updates["started_at"] = event.ts
        elif status.is_terminal:
            updates["finished_at"] = event.ts
        return updates
    if kind == "result":
        return {"result": event.value}  # type: ignore[attr-defined]
    if kind == "error":
        return {
            "error": {
                "type": event.error_type,  # type: ignore[attr-defined]
                "message": event.message,  # type: ignore[attr-defined]
                "traceback": event.traceback,  # type: ignore[attr-defined]
                "field_errors": event.field_errors,  # type: ignore[attr-defined]
            }
        }
    return None


def follow_events(
    log: RunLog, run_id: str, after_seq: int = 0, *, follow: bool = True,
    poll: float = FOLLOW_POLL,
) -> Iterator[Event]:  # fmt: skip
    """The run's events with ``seq > after_seq`` as they are written, until it ends.

    Used by ``hoist runs logs --follow`` and :meth:`RunHandle.follow`; reads the log
    every ``poll`` seconds while nothing new arrives. Without ``follow``, stops at the
    last event written so far.
    """
    run_id = log.get_run(run_id).id
    seq = after_seq
    while True:
        batch = log.events(run_id, after_seq=seq, limit=1000)
        yield from batch
        if batch:
            seq = batch[-1].seq
            continue
        if not follow or log.get_run(run_id).status.is_terminal:
            # One last read: events written between the two queries are not lost.
            tail = log.events(run_id, after_seq=seq)
            yield from tail
            if not follow or not tail:
                return
            seq = tail[-1].seq
            continue
        time.sleep(poll)
