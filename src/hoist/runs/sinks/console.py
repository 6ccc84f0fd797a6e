"""A sink that shows runs live in the terminal: Rich progress bars per run and category,
the latest metrics, messages, a service's outputs, step transitions and the outcome.
Every printed line is the event's own :meth:`~hoist.runs.models.EventBase.summary`,
styled."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from hoist.runs.models import (
    ArtifactEvent,
    CheckpointEvent,
    CustomEvent,
    ErrorEvent,
    Event,
    EventBase,
    LogEvent,
    MessageEvent,
    MetricsEvent,
    OutputEvent,
    ProgressEvent,
    Run,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.sinks.base import EventSink

__all__ = ["ConsoleSink"]

_STEP_MARKS = {
    "started": ("▶", "cyan"),
    "finished": ("✔", "green"),
    "skipped": ("↷", "yellow"),
    "failed": ("✘", "red"),
    "rolled_back": ("↩", "magenta"),
    "rollback_failed": ("✘ rollback", "red"),
}
_LEVEL_STYLE = {"success": "green", "warning": "yellow", "danger": "red", "error": "red"}
_AWAITING = "awaiting"  # RunStatus.AWAITING's value: a run waiting for a person
_STATUS_STYLE = {
    RunStatus.SUCCEEDED: "bold green",
    RunStatus.FAILED: "bold red",
    RunStatus.CANCELLED: "bold yellow",
    RunStatus.LOST: "bold red",
}


class ConsoleSink(EventSink):
    """Renders events as they come; use it as a context manager around the work.

    Args:
        console: where to draw (default: a new stderr-less stdout console).
        show_logs: print log events (INFO and up) above the bars.
        show_steps: print step transitions.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        show_logs: bool = True,
        show_steps: bool = True,
    ) -> None:
        self.console = console or Console()
        self.show_logs = show_logs
        self.show_steps = show_steps
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            expand=True,
        )
        self._names: dict[str, str] = {}
        self._tasks: dict[tuple[str, str | None], TaskID] = {}
        self._labels: dict[TaskID, str] = {}
        self._metrics: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._live: Live | None = None

    # ------------------------------------------------------------------ display
    def __enter__(self) -> ConsoleSink:
        self._live = Live(
            self._renderable(), console=self.console, refresh_per_second=8, transient=False
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._renderable(), refresh=True)
            self._live.__exit__(None, None, None)
            self._live = None

    def _renderable(self) -> RenderableType:
        if not self._metrics:
            return self.progress
        table = Table(box=None, show_header=True, header_style="dim", expand=False)
        table.add_column("metrics", style="dim")
        keys: list[str] = []
        for values in self._metrics.values():
            keys.extend(k for k in values if k not in keys)
        for key in keys:
            table.add_column(key, justify="right")
        for (run_id, category), values in self._metrics.items():
            label = self._names.get(run_id, run_id) + (f" [{category}]" if category else "")
            table.add_row(label, *(_fmt(values.get(k, "")) for k in keys))
        return Group(self.progress, table)

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._renderable())

    # ------------------------------------------------------------------ sink
    def open_run(self, run: Run) -> None:
        self._names[run.id] = run.action or run.kind

    def emit(self, event: EventBase) -> None:
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            with self._lock:
                handler(event)

    def _task(self, run_id: str, category: str | None, total: float) -> TaskID:
        key = (run_id, category)
        task = self._tasks.get(key)
        if task is None:
            name = self._names.get(run_id, run_id)
            label = name if category is None else f"{name} · {category}"
            task = self._tasks[key] = self.progress.add_task(label, total=total)
            self._labels[task] = label
        return task

    def _on_progress(self, event: ProgressEvent) -> None:
        task = self._task(event.run_id, event.category, event.total)
        self.progress.update(task, completed=event.current, total=event.total)

    def _on_metrics(self, event: MetricsEvent) -> None:
        self._metrics.setdefault((event.run_id, event.category), {}).update(event.values)
        self._refresh()

    def _line(self, event: Event, style: str, label: str | None = None) -> None:
        """Print the event's summary, after ``label`` (default: its type) in dim."""
        head = f"{event.type if label is None else label:<8} "
        self.console.print(Text.assemble((head, "dim"), (event.summary(), style)))

    def _on_message(self, event: MessageEvent) -> None:
        self.console.print(Text(event.summary(), style=_LEVEL_STYLE.get(event.level, "")))

    def _on_log(self, event: LogEvent) -> None:
        if self.show_logs:
            self.console.print(Text(event.summary(), style="dim"))

    def _on_custom(self, event: CustomEvent) -> None:
        if self.show_logs:
            self._line(event, "dim", "event")

    def _on_checkpoint(self, event: CheckpointEvent) -> None:
        if self.show_logs:
            self._line(event, "dim")

    def _on_step(self, event: StepEvent) -> None:
        if self.show_steps:
            mark, style = _STEP_MARKS.get(event.phase, ("·", ""))
            self.console.print(Text(f"{mark} {event.summary()}", style=style))

    def _on_output(self, event: OutputEvent) -> None:
        # a service's markdown/text as written, JSON compact; its actions set apart
        if event.role == "action":
            self._line(event, "magenta", "action")
        else:
            self._line(event, "bold", "output")

    def _on_artifact(self, event: ArtifactEvent) -> None:
        self._line(event, "blue")

    def _on_error(self, event: ErrorEvent) -> None:
        self.console.print(Text(event.summary(), style="bold red"))

    def _on_lock(self, event: EventBase) -> None:
        # a lock opened, answered, expired or cancelled: the person's part of the run
        self._line(event, "bold magenta")  # type: ignore[arg-type]

    def _on_status(self, event: StatusEvent) -> None:
        status = RunStatus(event.status)
        name = self._names.get(event.run_id, event.run_id)
        if status == _AWAITING:
            self.console.print(Text(f"{name} awaiting an answer (run {event.run_id})",
                                    style="bold magenta"))  # fmt: skip
        if not status.is_terminal:
            return
        for (run_id, _category), task in self._tasks.items():
            if run_id != event.run_id:
                continue
            self.progress.stop_task(task)
            if status is not RunStatus.SUCCEEDED:
                self.progress.update(task, description=f"[red]{self._labels[task]} ({status})")
        self.console.print(
            Text(f"{name} {event.summary()} (run {event.run_id})", style=_STATUS_STYLE[status])
        )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
