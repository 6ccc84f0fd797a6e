"""An in-memory sink that is also a :class:`~hoist.runs.reader.RunLog`: for tests, and
for users' tests of their own actions (as dramatiq ships a stub broker)."""

from __future__ import annotations

from typing import Any

from hoist.errors import RunNotFoundError
from hoist.runs.models import EventBase, Run
from hoist.runs.reader import RunFilter, run_updates
from hoist.runs.sinks.base import EventSink

__all__ = ["MemorySink"]


class MemorySink(EventSink):
    """Keeps runs and events in memory; readable while runs are live.

    ``emit`` only appends; a run's summary fields are folded from its events when the
    run is read, so the hot path stays a list append.
    """

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._events: dict[str, list[EventBase]] = {}
        self._folded: dict[str, int] = {}
        self._cancel: set[str] = set()

    def open_run(self, run: Run) -> None:
        self._runs[run.id] = run
        self._events[run.id] = []
        self._folded[run.id] = 0

    def emit(self, event: EventBase) -> None:
        self._events[event.run_id].append(event)

    def _fold(self, run_id: str) -> Run:
        run = self._runs[run_id]
        events = self._events[run_id]
        done = self._folded[run_id]
        end = len(events)
        for event in events[done:end]:
            updates = run_updates(event)
            if updates is not None:
                for name, value in updates.items():
                    if name == "started_at" and run.started_at is not None:
                        continue  # back from awaiting: it started before (as the store)
                    setattr(run, name, value)
        self._folded[run_id] = end
        return run

    # RunLog -----------------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        if run_id not in self._runs:
            raise RunNotFoundError(run_id)
        return self._fold(run_id).copy()

    @property
    def runs(self) -> dict[str, Run]:
        """Every run by id (current state, copies)."""
        return {run_id: self.get_run(run_id) for run_id in list(self._runs)}

    def list_runs(self, flt: RunFilter | None = None) -> list[Run]:
        flt = flt or RunFilter()
        runs = [r for r in self.runs.values() if _matches(r, flt)]
        if flt.cursor is not None:
            runs = [r for r in runs if (r.created_at, r.id) < flt.cursor]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return runs[flt.offset : flt.offset + flt.limit]

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Any]:
        if run_id not in self._events:
            raise RunNotFoundError(run_id)
        out = [e for e in self._events[run_id] if e.seq > after_seq]
        return out if limit is None else out[:limit]

    def request_cancel(self, run_id: str) -> None:
        self.get_run(run_id)
        self._cancel.add(run_id)

    def is_cancel_requested(self, run_id: str) -> bool:
        return run_id in self._cancel

    @property
    def all_events(self) -> list[EventBase]:
        """Every event of every run, in emission order per run."""
        return [e for events in self._events.values() for e in events]


def _matches(run: Run, flt: RunFilter) -> bool:
    return (
        (flt.status is None or run.status in flt.status)
        and (flt.plugin is None or run.plugin == flt.plugin)
        and (flt.action is None or run.action == flt.action)
        and (flt.kind is None or run.kind == flt.kind)
        and (flt.parent_id is None or run.parent_id == flt.parent_id)
        and (flt.since is None or run.created_at >= flt.since)
        and (flt.until is None or run.created_at < flt.until)
        and _params_match(run, flt)
    )


def _params_match(run: Run, flt: RunFilter) -> bool:
    return all(key in run.params and _same(run.params[key], value)
               for key, value in (flt.params or {}).items())  # fmt: skip


def _same(a: object, b: object) -> bool:
    """JSON equality: a boolean never equals a number."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b
