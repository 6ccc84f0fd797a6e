"""Runs and their events: the spine every view reads.

A :class:`Run` is anything that executes (an action, a pipeline, a service launch, a
deployment). Its history is an append-only log of :data:`Event` s numbered by a per-run
``seq`` that starts at 1. Statuses live in :mod:`hoist.runs.status`, events in
:mod:`hoist.runs.events`; this module is the one import for all of them.

``Event``, ``EVENT_ADAPTER`` and ``RUN_ADAPTER`` are made on first access (they import
pydantic): reading runs from the store (``hoist runs list``) does without them.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hoist.runs import events as _events
from hoist.runs.events import (
    EVENT_TYPES,
    ArtifactEvent,
    CheckpointEvent,
    CustomEvent,
    DevEvent,
    ErrorEvent,
    EventBase,
    LockEvent,
    LogEvent,
    MessageEvent,
    MetricsEvent,
    OutputEvent,
    ProgressEvent,
    ResultEvent,
    StatusEvent,
    StepEvent,
)
from hoist.runs.status import TERMINAL_STATUSES, RunKind, RunStatus

if TYPE_CHECKING:
    from pydantic import TypeAdapter

    from hoist.runs.events import EVENT_ADAPTER, Event

__all__ = [
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "RUN_ADAPTER",
    "TERMINAL_STATUSES",
    "ArtifactEvent",
    "CheckpointEvent",
    "CustomEvent",
    "DevEvent",
    "ErrorEvent",
    "Event",
    "EventBase",
    "LockEvent",
    "LogEvent",
    "MessageEvent",
    "MetricsEvent",
    "OutputEvent",
    "ProgressEvent",
    "ResultEvent",
    "Run",
    "RunKind",
    "RunStatus",
    "StatusEvent",
    "StepEvent",
    "new_run_id",
]


class _IdSource:
    """Per-process random prefix plus a counter: unique ids without a syscall per id."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = os.urandom(4).hex()[:7]
        self.counter = itertools.count(int.from_bytes(os.urandom(2), "big"))


_ids = _IdSource()


def new_run_id() -> str:
    """A 24-hex-digit id that sorts by creation time: ms clock, process tag, counter."""
    return f"{time.time_ns() // 1_000_000:012x}{_ids.prefix}{next(_ids.counter) & 0xFFFFF:05x}"


@dataclass(slots=True, kw_only=True)
class Run:
    """One execution and its current state (the summary of its log).

    A slotted dataclass, validated by :data:`RUN_ADAPTER` wherever runs come from
    outside (HTTP bodies); executors build it from trusted values, and the run store
    from its own typed rows (:func:`hoist.runs.store.rows.row_to_run`).
    """

    id: str
    kind: RunKind = RunKind.ACTION
    parent_id: str | None = None
    plugin: str | None = None
    action: str | None = None
    mode: str = "local"
    status: RunStatus = RunStatus.QUEUED
    params: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish (or to now while running)."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-compatible data."""
        out: dict[str, Any] = _run_adapter().dump_python(self, mode="json")
        return out

    def copy(self, **changes: Any) -> Run:
        """A shallow copy with ``changes`` applied."""
        return replace(self, **changes)


if TYPE_CHECKING:
    RUN_ADAPTER: TypeAdapter[Run]
    """Validates runs from outside and dumps them to JSON-compatible data."""


@functools.cache
def _run_adapter() -> TypeAdapter[Run]:
    """:data:`RUN_ADAPTER`, made on first use."""
    from pydantic import TypeAdapter

    return TypeAdapter(Run)


def __getattr__(name: str) -> Any:
    """``RUN_ADAPTER``, and ``Event`` and ``EVENT_ADAPTER`` of :mod:`hoist.runs.events`,
    made (importing pydantic) on first access."""
    if name == "RUN_ADAPTER":
        value: Any = _run_adapter()
    elif name in ("Event", "EVENT_ADAPTER"):
        value = getattr(_events, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value
