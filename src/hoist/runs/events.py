"""A run's events: the append-only log every view reads.

Each event type knows its one-line text (:meth:`EventBase.summary`): the CLI, the
console sink and the panel (server pages and, through the SSE frames, its script) show
that text and only style it.

The classes are plain dataclasses; :data:`Event` (their discriminated union) and
:data:`EVENT_ADAPTER` are built on first use, so a process that decodes no event
(``hoist runs list``) never imports pydantic (issue 19: CLI start-up).
"""

from __future__ import annotations

import functools
import json
import operator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Annotated, Any, Literal

from hoist.runs.status import RunStatus

if TYPE_CHECKING:
    from pydantic import Field, TypeAdapter

__all__ = [
    "EVENT_ADAPTER",
    "EVENT_TYPES",
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
    "StatusEvent",
    "StepEvent",
]


@dataclass(slots=True, kw_only=True)
class EventBase:
    """Fields every event has. ``seq`` is 1-based and gap-free within a run.

    Events are slotted dataclasses rather than ``BaseModel`` s: they are built on the
    action's hot path with values of Hoist's own making, so they skip validation there.
    Everything that reads events from outside (store rows, HTTP bodies) validates them
    through :data:`EVENT_ADAPTER`.
    """

    run_id: str
    seq: int
    ts: float
    type: str = ""

    def payload(self) -> dict[str, Any]:
        """The event's own fields (all but ``run_id``, ``seq``, ``ts`` and ``type``)."""
        return {name: getattr(self, name) for name in _own_fields(type(self))}

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-compatible data."""
        out: dict[str, Any] = _event_adapter().dump_python(self, mode="json")
        return out

    def summary(self) -> str:
        """What the event says, as plain text: one line, bar the text of a multi-line
        log line or message, which is kept whole (views add only style)."""
        return _json(self.payload())


_SUMMARY_MAX = 500  # longest JSON a summary quotes; longer text ends with "…"


def _json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return text if len(text) <= _SUMMARY_MAX else text[: _SUMMARY_MAX - 1] + "…"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _category(category: str | None) -> str:
    return f"[{category}] " if category else ""


@dataclass(slots=True, kw_only=True)
class StatusEvent(EventBase):
    """The run moved to ``status``."""

    type: Literal["status"] = "status"
    status: RunStatus

    def summary(self) -> str:
        """The new status, e.g. ``succeeded``."""
        return str(self.status)


@dataclass(slots=True, kw_only=True)
class ProgressEvent(EventBase):
    """``current`` of ``total`` done in ``category`` (``None`` is the run's main bar)."""

    type: Literal["progress"] = "progress"
    current: float
    total: float
    category: str | None = None

    def summary(self) -> str:
        """``[category] current/total (percent)``, e.g. ``[epochs] 3/10 (30%)``."""
        done = f" ({100.0 * self.current / self.total:.0f}%)" if self.total else ""
        return f"{_category(self.category)}{_num(self.current)}/{_num(self.total)}{done}"


@dataclass(slots=True, kw_only=True)
class MetricsEvent(EventBase):
    """Named numeric (or short text) values, e.g. one epoch's loss and accuracy."""

    type: Literal["metrics"] = "metrics"
    values: dict[str, Any]
    category: str | None = None

    def summary(self) -> str:
        """``[category] name=value, ...``."""
        values = ", ".join(f"{k}={_num(v)}" for k, v in self.values.items())
        return _category(self.category) + values


@dataclass(slots=True, kw_only=True)
class LogEvent(EventBase):
    """A log line (from ``ctx.logger``)."""

    type: Literal["log"] = "log"
    level: str = "INFO"
    message: str
    logger: str | None = None

    def summary(self) -> str:
        """``LEVEL message``."""
        return f"{self.level} {self.message}"


@dataclass(slots=True, kw_only=True)
class MessageEvent(EventBase):
    """A message meant for the person watching the run."""

    type: Literal["message"] = "message"
    level: str = "info"
    text: str

    def summary(self) -> str:
        """The message's text."""
        return self.text


@dataclass(slots=True, kw_only=True)
class _NamedEvent(EventBase):
    """A name and JSON data: the shape of dev, custom and checkpoint events."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """``name {data as JSON}``."""
        return f"{self.name} {_json(self.data)}" if self.data else self.name


@dataclass(slots=True, kw_only=True)
class DevEvent(_NamedEvent):
    """A developer-facing debug event."""

    type: Literal["dev"] = "dev"


@dataclass(slots=True, kw_only=True)
class CustomEvent(_NamedEvent):
    """A structured event named by the action (``ctx.log(event, data)``)."""

    type: Literal["custom"] = "custom"


@dataclass(slots=True, kw_only=True)
class StepEvent(EventBase):
    """A step of a step-based action started, finished, was skipped or rolled back."""

    type: Literal["step"] = "step"
    step: str
    phase: Literal[
        "started", "finished", "skipped", "failed", "cancelled", "rolled_back", "rollback_failed"
    ]
    weight: float = 1.0
    detail: str | None = None

    def summary(self) -> str:
        """``step phase``, then the first line of the detail, if any."""
        detail = f": {self.detail.splitlines()[0]}" if self.detail else ""
        return f"{self.step} {self.phase}{detail}"


@dataclass(slots=True, kw_only=True)
class ArtifactEvent(EventBase):
    """A file the run produced, relative to its artifacts folder when inside it."""

    type: Literal["artifact"] = "artifact"
    path: str
    name: str | None = None
    size: int | None = None

    def summary(self) -> str:
        """The file's path."""
        return self.path


@dataclass(slots=True, kw_only=True)
class CheckpointEvent(_NamedEvent):
    """Saved state (``data``) from which a run can be resumed."""

    type: Literal["checkpoint"] = "checkpoint"


@dataclass(slots=True, kw_only=True)
class OutputEvent(EventBase):
    """Something the run shows the person watching it while it runs (a service's
    ``tracer.markdown(...)``, ``tracer.result(...)``): ``format`` says how to render
    ``body`` (``markdown``, ``html`` and ``text`` bodies are text, rendered sanitised;
    ``json`` is any JSON value), ``model`` names its Python type when it had one
    (``Markdown``, ``my_service.models.Report``), ``role`` is ``result`` or ``action``
    (a step the run took, kodosumi's ``tracer.action``)."""

    type: Literal["output"] = "output"
    format: Literal["markdown", "html", "text", "json"] = "text"
    body: Any = None
    model: str | None = None
    role: Literal["result", "action"] = "result"

    def summary(self) -> str:
        """The body's text (kept whole, as a message's); JSON for a ``json`` body."""
        if self.format == "json":
            return _json(self.body)
        return str(self.body)


@dataclass(slots=True, kw_only=True)
class LockEvent(EventBase):
    """A service's run asked a person (``tracer.lock``) and waits, or stopped waiting.

    ``phase`` ``open`` carries what the person is shown: ``data``, the form's
    ``elements`` (JSON) and when the lock expires (``expires_at``, epoch seconds); then
    ``answered`` (``answer``: the validated values, secrets masked; ``user``: who
    answered), ``expired`` or ``cancelled``. ``lock_id`` ties the phases of one lock."""

    type: Literal["lock"] = "lock"
    lock_id: str
    name: str
    phase: Literal["open", "answered", "expired", "cancelled"] = "open"
    data: Any = None
    elements: list[dict[str, Any]] | None = None
    expires_at: float | None = None
    answer: dict[str, Any] | None = None
    user: str | None = None

    def summary(self) -> str:
        """``lock name phase``, and who answered (``lock review answered by ann``)."""
        by = f" by {self.user}" if self.phase == "answered" and self.user else ""
        return f"lock {self.name} {self.phase}{by}"


@dataclass(slots=True, kw_only=True)
class ResultEvent(EventBase):
    """The run's result (JSON-compatible); ``model`` names its Python type when it had
    one (a pydantic model's, or ``Markdown``/``HTML``/``Text``), so views can render it."""

    type: Literal["result"] = "result"
    value: Any = None
    model: str | None = None

    def summary(self) -> str:
        """The result as JSON."""
        return _json(self.value)


@dataclass(slots=True, kw_only=True)
class ErrorEvent(EventBase):
    """Why the run failed: exception type, message and traceback."""

    type: Literal["error"] = "error"
    error_type: str
    message: str
    traceback: str = ""
    field_errors: dict[str, list[str]] | None = None

    def summary(self) -> str:
        """``ErrorType: message``."""
        return f"{self.error_type}: {self.message}"


_BASE_FIELDS = frozenset({"run_id", "seq", "ts", "type"})


_OWN_FIELDS: dict[type, tuple[str, ...]] = {}


def _own_fields(cls: type) -> tuple[str, ...]:
    names = _OWN_FIELDS.get(cls)
    if names is None:
        names = _OWN_FIELDS[cls] = tuple(f.name for f in fields(cls) if f.name not in _BASE_FIELDS)
    return names


def _type_name(cls: type[EventBase]) -> str:
    return next(str(f.default) for f in fields(cls) if f.name == "type")


EVENT_TYPES: dict[str, type[EventBase]] = {
    _type_name(cls): cls
    for cls in (
        StatusEvent, ProgressEvent, MetricsEvent, LogEvent, MessageEvent, DevEvent,
        CustomEvent, StepEvent, ArtifactEvent, CheckpointEvent, OutputEvent, LockEvent,
        ResultEvent, ErrorEvent,
    )
}  # fmt: skip
"""Event class by ``type`` name (in the order of :data:`Event`'s union)."""

if TYPE_CHECKING:
    Event = Annotated[
        StatusEvent
        | ProgressEvent
        | MetricsEvent
        | LogEvent
        | MessageEvent
        | DevEvent
        | CustomEvent
        | StepEvent
        | ArtifactEvent
        | CheckpointEvent
        | OutputEvent
        | LockEvent
        | ResultEvent
        | ErrorEvent,
        Field(discriminator="type"),
    ]
    """Any event; pydantic picks the class by its ``type``."""

    EVENT_ADAPTER: TypeAdapter[Any]
    """Validates events from outside (``validate_python``/``validate_json``) and dumps
    them."""


@functools.cache
def _event_union() -> Any:
    """:data:`Event`: the union of :data:`EVENT_TYPES`' classes, discriminated by ``type``."""
    from pydantic import Field

    union = functools.reduce(operator.or_, EVENT_TYPES.values())
    return Annotated[union, Field(discriminator="type")]


@functools.cache
def _event_adapter() -> TypeAdapter[Any]:
    """:data:`EVENT_ADAPTER`, its schema built on first use."""
    from pydantic import ConfigDict, TypeAdapter

    return TypeAdapter(_event_union(), config=ConfigDict(defer_build=True))


_LAZY = {"Event": _event_union, "EVENT_ADAPTER": _event_adapter}


def __getattr__(name: str) -> Any:
    """``Event`` and ``EVENT_ADAPTER``, made (importing pydantic) on first access."""
    make = _LAZY.get(name)
    if make is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = make()
    return value
