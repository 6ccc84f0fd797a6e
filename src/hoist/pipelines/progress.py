"""Pipeline progress, derived from the run log: the pipeline run's node steps plus each
action run's own status, bar, message and metrics. The same model serves the terminal
display, the Python API and (later) the HTTP API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field

from hoist.runs.models import RunStatus
from hoist.runs.reader import RunFilter, RunLog

__all__ = [
    "ActionProgress",
    "PipelineProgress",
    "ProgressTracker",
    "node_percent",
    "overall_percent",
    "pipeline_progress",
    "stream_progress",
    "stream_progress_async",
]

ActionState = Literal["pending", "running", "completed", "failed", "skipped", "cancelled"]
_PHASE_STATE: dict[str, ActionState] = {
    "started": "running",
    "finished": "completed",
    "skipped": "skipped",
    "failed": "failed",
    "cancelled": "cancelled",
}
_RUN_STATE: dict[RunStatus, ActionState] = {
    RunStatus.QUEUED: "pending",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "completed",
    RunStatus.FAILED: "failed",
    RunStatus.CANCELLED: "cancelled",
    RunStatus.LOST: "failed",
}


def node_percent(finished: bool, main: float | None = None, items: Iterable[float] = ()) -> float:
    """How far one pipeline node is, in percent: the one rule every view follows (the
    terminal display, ``hoist runs show``, the panel).

    Args:
        finished: the node completed or was skipped (100, whatever its bar last said).
        main: the percent of its action run's main bar, if it reported one.
        items: the percents of its fan-out items' runs (a finished item counts 100).

    Returns:
        ``main`` (clamped to 0..100), else the mean of ``items``, else 0.
    """
    if finished:
        return 100.0
    if main is not None:
        return max(0.0, min(100.0, main))
    shares = list(items)
    return sum(shares) / len(shares) if shares else 0.0


def overall_percent(nodes: Iterable[float], succeeded: bool = False) -> float:
    """A pipeline's overall percent: the mean of its nodes' :func:`node_percent` (each node
    weighs the same; a node part way counts its part), 100 once the pipeline succeeded.

    Three nodes, one done and one at 80 %: 60 %, not the 33 % of "one node of three".
    """
    if succeeded:
        return 100.0
    shares = list(nodes)
    return sum(shares) / len(shares) if shares else 0.0


class ActionProgress(BaseModel):
    """One node of a pipeline run."""

    key: str
    action: str
    status: ActionState = "pending"
    progress: float = Field(0.0, description="percent of the action's main bar")
    message: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    run_id: str | None = None
    attempts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds the node ran (so far)."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at


class PipelineProgress(BaseModel):
    """A pipeline run and each of its actions."""

    run_id: str
    name: str
    status: RunStatus
    overall: float = Field(0.0, description="percent done over all actions")
    actions: list[ActionProgress] = Field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    result: Any = None

    @property
    def current_action(self) -> ActionProgress | None:
        """The first running action, if any."""
        return next((a for a in self.actions if a.status == "running"), None)


class ProgressTracker:
    """Builds :class:`PipelineProgress` incrementally: each :meth:`poll` reads only new
    events, so following a long run stays cheap."""

    def __init__(self, log: RunLog, run_id: str) -> None:
        self.log = log
        self.run_id = log.get_run(run_id).id
        self._seq: dict[str, int] = {}
        self._actions: dict[str, ActionProgress] = {}
        self._order: list[str] = []
        self._main: dict[str, float] = {}  # node key -> its action run's main bar
        self._items: dict[str, dict[str, float]] = {}  # node key -> item run id -> percent

    def poll(self) -> PipelineProgress:
        """The progress now."""
        run = self.log.get_run(self.run_id)
        if not self._order:
            for n in run.meta.get("nodes", []):
                self._order.append(n["key"])
                self._actions[n["key"]] = ActionProgress(key=n["key"], action=n["action"])
        for event in self._new_events(self.run_id):
            if event.type == "step" and event.step in self._actions:
                action = self._actions[event.step]
                action.status = _PHASE_STATE.get(event.phase, action.status)
        children = self.log.list_runs(RunFilter(parent_id=self.run_id, limit=100_000))
        for child in sorted(children, key=lambda r: r.created_at):
            node_action = self._actions.get(child.meta.get("node") or "")
            if node_action is not None:
                self._apply_child(node_action, child)
        actions = [self._actions[k] for k in self._order]
        for a in actions:
            finished = a.status in ("completed", "skipped")
            items = self._items.get(a.key, {}).values()
            a.progress = node_percent(finished, self._main.get(a.key), items)
        overall = overall_percent((a.progress for a in actions), run.status is RunStatus.SUCCEEDED)
        error = (run.error or {}).get("message")
        return PipelineProgress(
            run_id=run.id, name=run.action or "pipeline", status=run.status,
            overall=round(overall, 2), actions=[a.model_copy() for a in actions],
            started_at=run.started_at, finished_at=run.finished_at, error=error,
            result=run.result,
        )  # fmt: skip

    def _apply_child(self, action: ActionProgress, child: Any) -> None:
        if action.run_id != child.id and child.meta.get("item") is None:
            action.attempts = max(action.attempts, int(child.meta.get("attempt", 1)))
            action.run_id = child.id
        action.started_at = action.started_at or child.started_at
        if child.meta.get("item") is None:
            if action.status not in ("completed", "skipped", "failed", "cancelled"):
                action.status = _RUN_STATE[child.status]
            if child.finished_at:
                action.finished_at = child.finished_at
            if child.error:
                action.error = f"{child.error.get('type')}: {child.error.get('message')}"
        item = child.meta.get("item") is not None
        for event in self._new_events(child.id):
            if event.type == "progress" and event.category is None and event.total:
                share = 100.0 * event.current / event.total
                if item:
                    self._items.setdefault(action.key, {})[child.id] = share
                else:
                    self._main[action.key] = share
            elif event.type == "message":
                action.message = event.text
            elif event.type == "metrics":
                action.metrics.update(event.values)
        if item:
            found = self._items.setdefault(action.key, {})
            if child.status is RunStatus.SUCCEEDED:
                found[child.id] = 100.0
            else:
                found.setdefault(child.id, 0.0)

    def _new_events(self, run_id: str) -> list[Any]:
        events = self.log.events(run_id, after_seq=self._seq.get(run_id, 0))
        if events:
            self._seq[run_id] = events[-1].seq
        return events


def pipeline_progress(log: RunLog, run_id: str) -> PipelineProgress:
    """The progress of a pipeline run, read from the log once."""
    return ProgressTracker(log, run_id).poll()


def stream_progress(
    log: RunLog, run_id: str, interval: float = 0.1, flush: Any = None
) -> Iterator[PipelineProgress]:
    """Yield the run's progress whenever it changes, until the run ends (last yield is
    the final state).

    Args:
        log: where the run is recorded.
        run_id: the pipeline run.
        interval: seconds between polls.
        flush: called before each poll (e.g. the local sink's ``flush``).
    """
    if flush is not None:
        flush()
    tracker = ProgressTracker(log, run_id)
    last: PipelineProgress | None = None
    while True:
        if flush is not None:
            flush()
        current = tracker.poll()
        if last is None or current != last:
            yield current
            last = current
        if current.status.is_terminal:
            return
        time.sleep(interval)


async def stream_progress_async(
    log: RunLog, run_id: str, interval: float = 0.1
) -> AsyncIterator[PipelineProgress]:
    """:func:`stream_progress` for asyncio (reads run in a worker thread)."""
    tracker = ProgressTracker(log, run_id)
    last: PipelineProgress | None = None
    while True:
        current = await asyncio.to_thread(tracker.poll)
        if last is None or current != last:
            yield current
            last = current
        if current.status.is_terminal:
            return
        await asyncio.sleep(interval)
