"""``RuntimeContext``: everything an action may touch while it runs.

An action never writes to a database or the network itself; it calls its context, and
the context turns each call into an event for its sink.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist.errors import RunCancelledError
from hoist.plugins.context_resources import RunResources
from hoist.plugins.env import PluginEnvironment
from hoist.runs.models import (
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
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.reader import run_updates
from hoist.runs.sinks.base import EventSink

if TYPE_CHECKING:
    from hoist.settings import Settings
    from hoist.storage import StorageConfig, StorageLocation

__all__ = ["RuntimeContext"]

_RUN_LOGGER = "hoist.run"


class _EventLogHandler(logging.Handler):
    """Turns records from a context's logger into log events of that context's run."""

    def emit(self, record: logging.LogRecord) -> None:
        ctx = getattr(record, "hoist_ctx", None)
        if ctx is None:
            return
        try:
            ctx._emit_log_record(record)
        except Exception:  # a log call must never break the action
            self.handleError(record)


def _install_handler() -> logging.Logger:
    base = logging.getLogger(_RUN_LOGGER)
    if not any(isinstance(h, _EventLogHandler) for h in base.handlers):
        base.addHandler(_EventLogHandler())
        if base.level == logging.NOTSET:
            base.setLevel(logging.INFO)
    return base


class _ContextLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A stdlib logger view that tags records with their run's context."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(kwargs.get("extra") or {})
        extra["hoist_ctx"] = self.extra["hoist_ctx"]  # type: ignore[index]
        kwargs["extra"] = extra
        return msg, kwargs


class RuntimeContext(RunResources):
    """The run-time services of one run.

    Args:
        run_id: the run this context reports for.
        sink: where events go.
        env: the plugin's settings.
        job_id: an external job id (defaults to ``run_id``).
        action_name: used to name the logger.
        runs_dir: folder under which the run's artifacts folder is created.
        progress_interval: progress events of one category closer together than this
            (seconds) are coalesced; the last value is always written.
        extras: values the layers above attach (e.g. ``pipeline``, the pipeline context).
        parent: the context of the run this one belongs to; cancelling the parent
            cancels this run too.
        client_factory: builds :attr:`client` on first use (executors pass one when a
            Hoist server is configured).
        storage_config: the named storage locations :meth:`storage` knows (default: read
            on first use from :attr:`settings`).
        settings: the executor's settings (its storage config, where artifacts go);
            default: the process runtime's.
    """

    def __init__(
        self,
        run_id: str,
        sink: EventSink,
        *,
        env: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        action_name: str = "action",
        runs_dir: Path | None = None,
        progress_interval: float = 0.02,
        extras: Mapping[str, Any] | None = None,
        parent: RuntimeContext | None = None,
        client_factory: Callable[[RuntimeContext], Any] | None = None,
        storage_config: StorageConfig | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.run_id = run_id
        self.job_id = job_id or run_id
        self.written: dict[str, Any] = {}
        """The run's fields this context's events set (status, timings, result, error),
        as every store applies them: the record this process wrote, before it lands."""
        self.sink = sink
        self.env = env if isinstance(env, PluginEnvironment) else PluginEnvironment(env)
        self.action_name = action_name
        self.runs_dir = runs_dir
        self.progress_interval = progress_interval
        self.parent = parent
        self._cancelled = False
        self.cancel_reason: str | None = None
        self.extras: dict[str, Any] = dict(extras or {})
        self._client_factory = client_factory
        self._client: Any = None
        self._seq = 0
        self._counter = itertools.count(1)
        self._logger: logging.LoggerAdapter | None = None  # type: ignore[type-arg]
        self._last_progress: dict[str | None, float] = {}
        self._pending_progress: dict[str | None, tuple[float, float]] = {}
        self._storage_config = storage_config
        self._settings = settings
        self._locations: dict[str, StorageLocation] = {}

    # ------------------------------------------------------------------ event plumbing
    def _next_seq(self) -> int:
        # itertools.count is atomic under the GIL: threads of one run never share a seq.
        self._seq = seq = next(self._counter)
        return seq

    def _emit(self, cls: type[EventBase], **fields: Any) -> None:
        if self._pending_progress and cls is not ProgressEvent:
            self._flush_progress()
        self.sink.emit(cls(run_id=self.run_id, seq=self._next_seq(), ts=time.time(), **fields))

    def _flush_progress(self) -> None:
        pending, self._pending_progress = self._pending_progress, {}
        for category, (current, total) in pending.items():
            self.sink.emit(
                ProgressEvent(
                    run_id=self.run_id, seq=self._next_seq(), ts=time.time(),
                    current=current, total=total, category=category,
                )
            )  # fmt: skip

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the newest event this context emitted."""
        return self._seq

    # ------------------------------------------------------------------ server
    @property
    def client(self) -> Any:
        """The Hoist server's client for this run, or ``None`` when no server is set.

        With ``HOIST_SERVER_URL`` and an API token (``HOIST_TOKEN``) configured, this is
        a :class:`~hoist.client.run_client.RunClient`: every
        :class:`~hoist.client.HoistClient` call, plus ``upload_file(path)``, which stores
        the file among this run's artifacts on the server. Without a server it is
        ``None``, so ``if self.ctx.client:`` guards server-only work.
        """
        if self._client is None and self._client_factory is not None:
            self._client = self._client_factory(self)
        return self._client

    @client.setter
    def client(self, value: Any) -> None:
        self._client = value

    def record_uploaded_artifact(self, stored: Mapping[str, Any]) -> None:
        """Record an artifact the server stored for this run (``artifacts/<name>``)."""
        path = str(stored["path"]).removeprefix("artifacts/")
        self._emit(ArtifactEvent, path=path, name=Path(path).name, size=stored.get("size"))

    def close(self) -> None:
        """Release what the run opened (its server client); executors call it at the end."""
        client, self._client = self._client, None
        if client is not None and self._client_factory is not None:
            client.close()

    # ------------------------------------------------------------------ logging
    @property
    def logger(self) -> logging.LoggerAdapter:  # type: ignore[type-arg]
        """A stdlib logger; its records (INFO and up by default) become log events."""
        if self._logger is None:
            _install_handler()
            base = logging.getLogger(f"{_RUN_LOGGER}.{self.action_name}")
            self._logger = _ContextLogger(base, {"hoist_ctx": self})
        return self._logger

    def _emit_log_record(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        self._emit(LogEvent, level=record.levelname, message=message, logger=record.name)

    def emit_log(self, message: str, level: str = "INFO", logger: str | None = None) -> None:
        """Record a log line as it is (no logging configuration can filter it out): a
        service tracer's ``debug``/``warning``, a captured ``print()``."""
        self._emit(LogEvent, level=level, message=message, logger=logger)

    def log(self, event: str, data: Mapping[str, Any] | None = None) -> None:
        """Record a structured event named ``event`` with ``data``."""
        self._emit(CustomEvent, name=event, data=dict(data or {}))

    def log_message(self, text: str, level: str = "info") -> None:
        """Show ``text`` to the person watching the run (``info``/``success``/...)."""
        self._emit(MessageEvent, text=str(text), level=level)

    def log_dev_event(self, name: str, data: Mapping[str, Any] | None = None) -> None:
        """Record a developer-facing debug event."""
        self._emit(DevEvent, name=name, data=dict(data or {}))

    # ------------------------------------------------------------------ progress
    def set_progress(self, current: float, total: float, category: str | None = None) -> None:
        """Report ``current`` of ``total`` done, optionally for a named ``category``.

        This is a cancellation point: it raises
        :class:`~hoist.errors.RunCancelledError` once the run was cancelled.
        """
        self.check_cancelled()
        now = time.time()
        last = self._last_progress.get(category)
        if last is not None and current < total and now - last < self.progress_interval:
            self._pending_progress[category] = (current, total)
            return
        self._pending_progress.pop(category, None)
        self._last_progress[category] = now
        self.sink.emit(
            ProgressEvent(
                run_id=self.run_id, seq=self._next_seq(), ts=now, current=current,
                total=total, category=category,
            )
        )  # fmt: skip

    def set_metrics(self, values: Mapping[str, Any], category: str | None = None) -> None:
        """Record named metric values (e.g. one epoch's ``loss`` and ``accuracy``)."""
        self._emit(MetricsEvent, values=dict(values), category=category)

    # ------------------------------------------------------------------ files, state
    def add_artifact(self, path: str | Path, name: str | None = None) -> None:
        """Record an output file (paths inside :attr:`artifacts_dir` are kept relative)."""
        file = Path(path)
        size = file.stat().st_size if file.is_file() else None
        shown = str(file)
        if self.runs_dir is not None:
            with contextlib.suppress(ValueError):
                shown = str(file.resolve().relative_to(self.artifacts_dir.resolve()))
        self._emit(ArtifactEvent, path=shown, name=name or file.name, size=size)

    def save_checkpoint(self, name: str, data: Mapping[str, Any]) -> None:
        """Store state from which this run can later be resumed."""
        self._emit(CheckpointEvent, name=name, data=dict(data))

    # ------------------------------------------------------------------ cancellation
    def cancel(self, reason: str | None = None) -> None:
        """Ask the run to stop at its next cancellation point (from any thread).

        Args:
            reason: why; a reason starting with ``timeout`` makes the run end ``failed``
                with a ``TimeoutError`` instead of ``cancelled``.
        """
        if reason is not None and self.cancel_reason is None:
            self.cancel_reason = reason
        self._cancelled = True

    def is_cancelled(self) -> bool:
        """Whether the run (or the run it belongs to) was asked to stop, here or elsewhere."""
        if not self._cancelled and (
            self.sink.is_cancel_requested(self.run_id)
            or (self.parent is not None and self.parent.is_cancelled())
        ):
            self._cancelled = True
        return self._cancelled

    @property
    def pipeline(self) -> Any:
        """The pipeline context (shared working folder) when this run is part of one."""
        return self.extras.get("pipeline")

    def check_cancelled(self) -> None:
        """Raise :class:`~hoist.errors.RunCancelledError` if the run was cancelled."""
        if self.is_cancelled():
            raise RunCancelledError(self.run_id)

    # ------------------------------------------------------------------ lifecycle (executors)
    def emit_status(self, status: RunStatus) -> None:
        """Move the run to ``status`` (used by executors, not actions)."""
        if self._pending_progress:
            self._flush_progress()
        self._write(
            StatusEvent(run_id=self.run_id, seq=self._next_seq(), ts=time.time(), status=status)
        )

    def emit_step(
        self, step: str, phase: str, weight: float = 1.0, detail: str | None = None
    ) -> None:
        """Record a step's phase (used by the step orchestrator)."""
        self._emit(StepEvent, step=step, phase=phase, weight=weight, detail=detail)

    def emit_result(self, value: Any, model: str | None = None) -> None:
        """Record the run's JSON-compatible result, and the name of its Python type when
        it had one (used by executors)."""
        if self._pending_progress:
            self._flush_progress()
        self._write(
            ResultEvent(
                run_id=self.run_id, seq=self._next_seq(), ts=time.time(), value=value, model=model
            )
        )

    def emit_output(
        self, format: str, body: Any, model: str | None = None, role: str = "result"
    ) -> None:
        """Show ``body`` to the person watching the run (a service tracer's markdown,
        html, text, result and action calls): see :class:`~hoist.runs.models.OutputEvent`."""
        self._emit(OutputEvent, format=format, body=body, model=model, role=role)

    def emit_lock(self, lock_id: str, name: str, phase: str, **fields: Any) -> None:
        """Record a phase of a service's lock (``open``, ``answered``, ``expired``,
        ``cancelled``): see :class:`~hoist.runs.models.LockEvent`."""
        self._emit(LockEvent, lock_id=lock_id, name=name, phase=phase, **fields)

    def emit_error(
        self,
        error_type: str,
        message: str,
        traceback: str = "",
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        """Record why the run failed (used by executors)."""
        if self._pending_progress:
            self._flush_progress()
        self._write(
            ErrorEvent(
                run_id=self.run_id, seq=self._next_seq(), ts=time.time(), error_type=error_type,
                message=message, traceback=traceback, field_errors=field_errors,
            )
        )  # fmt: skip

    def _write(self, event: EventBase) -> None:
        """Emit an event that changes the run's record, and note the fields it sets."""
        self.sink.emit(event)
        updates = run_updates(event) or {}
        if "started_at" in self.written:
            updates.pop("started_at", None)  # a run keeps its first start (as the store)
        self.written.update(updates)
