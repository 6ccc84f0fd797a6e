"""Show pipeline progress in the terminal with Rich: a bar per action and one overall."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Column
from rich.text import Text

from hoist.pipelines.progress import ActionProgress, PipelineProgress

__all__ = ["NODE_STYLE", "PipelineDisplay", "display_progress", "display_progress_async"]

NODE_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "skipped": "yellow",
    "cancelled": "yellow",
}
"""The Rich style of a pipeline node's status (the live display and ``hoist runs show``)."""


class PipelineDisplay:
    """Draws successive :class:`PipelineProgress` snapshots."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("{task.description}", table_column=Column(width=26, no_wrap=True)),
            BarColumn(bar_width=24),
            TaskProgressColumn(),
            TextColumn(
                "{task.fields[detail]}",
                style="dim",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"),
            ),
            console=self.console,
            expand=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._overall: TaskID | None = None
        self._title = Text()

    def update(self, state: PipelineProgress) -> None:
        """Apply one snapshot."""
        self._title = Text.assemble(
            (f"pipeline {state.name} ", "bold"), (f"{state.status}", "cyan"),
            (f"  run {state.run_id}", "dim"),
        )  # fmt: skip
        if self._overall is None:
            self._overall = self.progress.add_task("[bold]overall", total=100, detail="")
        for action in state.actions:
            self._action(action)
        self.progress.update(self._overall, completed=state.overall, detail=state.error or "")

    def _action(self, action: ActionProgress) -> None:
        task = self._tasks.get(action.key)
        label = Text(f"{action.key[:15]:<15} {action.status:<9}", style=NODE_STYLE[action.status])
        detail = action.message or ""
        if action.metrics:
            detail = " ".join(f"{k}={_fmt(v)}" for k, v in action.metrics.items())
        if action.attempts > 1:
            detail = f"attempt {action.attempts} {detail}"
        if action.error and action.status == "failed":
            detail = action.error
        if task is None:
            task = self._tasks[action.key] = self.progress.add_task(
                label.markup, total=100, detail=detail
            )
        self.progress.update(task, description=label.markup, completed=action.progress,
                             detail=detail)  # fmt: skip

    def renderable(self) -> Group:
        """The title and the bars."""
        return Group(self._title, self.progress)


def display_progress(
    stream: Iterable[PipelineProgress], console: Console | None = None
) -> PipelineProgress | None:
    """Render a progress stream live; returns the last snapshot."""
    display = PipelineDisplay(console)
    last: PipelineProgress | None = None
    with Live(display.renderable(), console=display.console, refresh_per_second=8) as live:
        for state in stream:
            display.update(state)
            live.update(display.renderable())
            last = state
    return last


async def display_progress_async(
    stream: AsyncIterable[PipelineProgress], console: Console | None = None
) -> PipelineProgress | None:
    """:func:`display_progress` for an async stream."""
    display = PipelineDisplay(console)
    last: PipelineProgress | None = None
    with Live(display.renderable(), console=display.console, refresh_per_second=8) as live:
        async for state in stream:
            display.update(state)
            live.update(display.renderable())
            last = state
    return last


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
