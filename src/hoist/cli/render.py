"""How the CLI shows runs and events (tables, one-line events, durations)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from hoist.runs.models import (
    LogEvent,
    OutputEvent,
    ResultEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    StepEvent,
)
from hoist.runs.short_ids import short_id

if TYPE_CHECKING:
    from hoist.runs.models import Event

__all__ = [
    "add_outputs",
    "add_pipeline_nodes",
    "add_steps",
    "event_line",
    "run_detail",
    "runs_table",
    "when",
]

SHOWN_OUTPUTS = 20
"""The newest outputs ``hoist runs show`` prints."""
SHOWN_STEPS = 100
"""Steps ``hoist runs show`` lists: the newest (a long run's older step events are not read)."""
_SERVICE_FIELDS = ("path", "entry_point", "version", "author", "organization")
_TEXT_MODELS = ("Markdown", "HTML", "Text")

STATUS_STYLE: dict[str, str] = {
    RunStatus.QUEUED: "dim",
    RunStatus.RUNNING: "cyan",
    "awaiting": "bold magenta",  # waiting for a person: stands out from running
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "yellow",
    RunStatus.LOST: "red",
}
"""The style of each status (keyed by its value: a status this table does not know yet
is shown unstyled rather than failing)."""


def when(ts: float | None, *, short: bool = False) -> str:
    """A local timestamp, or ``-``."""
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).strftime(
        "%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S"
    )


def _style(status: str) -> str:
    return STATUS_STYLE.get(str(status), "")


def _duration(run: Run) -> str:
    seconds = run.duration
    return "-" if seconds is None else f"{seconds:.2f}s"


_ALL_COLUMNS = ("RUN", "STATUS", "PLUGIN", "ACTION", "MODE", "CREATED", "DURATION")
_NARROW_COLUMNS = ("RUN", "STATUS", "PLUGIN", "ACTION", "CREATED")
NARROW = 100
"""Below this many columns, ``runs_table`` leaves out MODE and DURATION."""


def runs_table(runs: list[Run], width: int | None = None) -> Table:
    """A table of runs, newest first; each id in its short form (never cut). Narrower
    than :data:`NARROW` columns, it shows fewer columns rather than cutting every cell."""
    columns = _NARROW_COLUMNS if width is not None and width < NARROW else _ALL_COLUMNS
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", collapse_padding=True, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column in ("RUN", "STATUS", "CREATED"),
                         overflow="fold")  # fmt: skip
    for run in runs:
        cells: dict[str, str | Text] = {
            "RUN": short_id(run.id),
            "STATUS": Text(str(run.status), style=_style(run.status)),
            "PLUGIN": run.plugin or "-",
            "ACTION": run.action or str(run.kind),
            "MODE": run.mode,
            "CREATED": when(run.created_at, short=True),
            "DURATION": _duration(run),
        }
        table.add_row(*(cells[c] for c in columns))
    return table


def _add_service(tree: Tree, run: Run) -> None:
    meta = run.meta.get("service")
    meta = meta if isinstance(meta, dict) else {}
    for key in _SERVICE_FIELDS:
        if meta.get(key) not in (None, ""):
            tree.add(Text.assemble((f"{key.replace('_', ' ')}: ", "dim"), str(meta[key])))
    tags = meta.get("tags")
    if isinstance(tags, list | tuple) and tags:
        tree.add(Text.assemble(("tags: ", "dim"), ", ".join(str(t) for t in tags)))


def _result_text(value: Any, model: str | None) -> Text:
    """A ``Markdown``/``HTML``/``Text`` result as its text; anything else as compact
    JSON, after its type's name."""
    short = model.rsplit(".", 1)[-1] if model else None
    if short in _TEXT_MODELS and isinstance(value, dict) and isinstance(value.get("body"), str):
        value = value["body"]
    if short in _TEXT_MODELS and isinstance(value, str):
        return Text.assemble(("result: ", "dim"), (f"({short}) ", "dim"), (value, "green"))
    body = json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    return Text.assemble(("result: ", "dim"), (f"({model}) " if model else "", "dim"), body)


def run_detail(
    run: Run, children: list[Run], event_counts: dict[str, int], result_model: str | None = None
) -> Tree:
    """A tree: the run's fields (a service run's endpoint, entry point, version, author),
    params, result (``result_model`` names its type) or error, children and event counts."""
    title = Text.assemble((f"run {run.id} ", "bold"), (str(run.status), _style(run.status)))
    tree = Tree(title)
    service = run.kind == RunKind.SERVICE
    for label, value in (
        ("kind", run.kind),
        ("service" if service else "plugin", run.plugin),
        ("endpoint" if service else "action", run.action),
        ("mode", run.mode),
        ("parent", run.parent_id),
        ("created", when(run.created_at)),
        ("started", when(run.started_at)),
        ("finished", when(run.finished_at)),
        ("duration", _duration(run)),
    ):
        if value is not None:
            tree.add(f"[dim]{label}:[/] {value}")
    if service:
        _add_service(tree, run)
    label = "inputs" if service else "params"
    tree.add(Text.assemble((f"{label}: ", "dim"), json.dumps(run.params, default=str)))
    if run.result is not None:
        tree.add(_result_text(run.result, result_model))
    if run.error:
        error = tree.add(f"[red]error: {run.error.get('type')}: {run.error.get('message')}")
        for field, messages in (run.error.get("field_errors") or {}).items():
            error.add(f"{field}: {', '.join(messages)}")
    if children and run.kind != "pipeline":
        sub = tree.add("[dim]children:[/]")
        for child in children:
            sub.add(
                Text.assemble(
                    f"{child.action or child.kind} {child.id} ",
                    (str(child.status), _style(child.status)),
                )
            )
    if event_counts:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(event_counts.items()))
        tree.add(f"[dim]events:[/] {counts}")
    return tree


def event_line(event: Event) -> Text:
    """One event as a line: time, seq, type and its summary, styled by type (an
    output's type name and role before it)."""
    head = f"{when(event.ts)} #{event.seq:<4} {event.type:<10} "
    return Text.assemble((head, "dim"), _tag(event), (event.summary(), _event_style(event)))


def _tag(event: Event) -> Text:
    if not isinstance(event, OutputEvent | ResultEvent) or not (
        event.model or getattr(event, "role", "result") == "action"
    ):
        return Text()
    action = "action " if isinstance(event, OutputEvent) and event.role == "action" else ""
    model = f"({event.model.rsplit('.', 1)[-1]}) " if event.model else ""
    return Text(action + model, style="dim")


_TYPE_STYLE = {"metrics": "cyan", "message": "bold", "artifact": "blue", "result": "green",
               "error": "red", "output": "bold", "lock": "bold magenta"}  # fmt: skip


def _event_style(event: Event) -> str:
    if isinstance(event, StatusEvent):
        return _style(event.status)
    if isinstance(event, OutputEvent) and event.role == "action":
        return "magenta"
    if isinstance(event, LogEvent) and event.level in ("ERROR", "CRITICAL"):
        return "red"
    return _TYPE_STYLE.get(event.type, "")


def add_pipeline_nodes(tree: Tree, progress: Any) -> None:
    """Add a pipeline's actions (status, bar, run, attempts, error) under ``tree``."""
    from hoist.pipelines.display import NODE_STYLE  # only pipeline runs pay for the import

    branch = tree.add(f"[dim]actions:[/] overall {progress.overall:.0f}%")
    for action in progress.actions:
        line = Text.assemble(
            (f"{action.key} ", "bold"),
            (f"{action.status}", NODE_STYLE[action.status]),
            f" {action.progress:.0f}%",
            (f"  run {action.run_id}" if action.run_id else "", "dim"),
            (f"  attempts {action.attempts}" if action.attempts > 1 else "", "yellow"),
        )
        node = branch.add(line)
        if action.error:
            node.add(Text(action.error, style="red"))


def add_outputs(
    tree: Tree, events: Sequence[Event], limit: int = SHOWN_OUTPUTS, total: int | None = None
) -> None:
    """Add the newest ``limit`` outputs among ``events`` under ``tree`` (their text:
    Markdown as written, JSON compact), saying how many earlier ones ``hoist runs logs``
    has (``total``: how many the run has, when ``events`` holds only the newest)."""
    outputs = [e for e in events if isinstance(e, OutputEvent)]
    if not outputs:
        return
    count = len(outputs) if total is None else total
    branch = tree.add(f"[dim]outputs:[/] {count}")
    if count > limit:
        branch.add(Text(f"… {count - limit} earlier (hoist runs logs)", style="dim"))
    for event in outputs[-limit:]:
        branch.add(Text.assemble(_tag(event), (event.summary(), _event_style(event))))


def add_steps(tree: Tree, events: Iterable[Event], *, older: bool = False) -> None:
    """Add the last phase of each step of a step-based action under ``tree``: the newest
    :data:`SHOWN_STEPS`, saying so when there are ``older`` ones."""
    phases: dict[str, str] = {}
    for event in events:
        if isinstance(event, StepEvent):
            phases[event.step] = event.phase
    if phases:
        shown = list(phases.items())[-SHOWN_STEPS:]
        older = older or len(shown) < len(phases)
        branch = tree.add("[dim]steps (the newest):[/]" if older else "[dim]steps:[/]")
        for step, phase in shown:
            style = "red" if "fail" in phase else "green" if phase == "finished" else "yellow"
            branch.add(Text.assemble(f"{step} ", (phase, style)))
