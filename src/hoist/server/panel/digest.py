"""What a run page shows, read through the :class:`RunStore`: the bars (overall, per
category, per step), the tree of child runs, metrics, messages, the newest outputs, the
result, artifacts and files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hoist.runs.models import (
    ArtifactEvent,
    MessageEvent,
    MetricsEvent,
    Run,
    RunKind,
    RunStatus,
    StepEvent,
)
from hoist.runs.reader import RunFilter
from hoist.runs.store import RunStore
from hoist.server.panel.outputs import (
    OutputView,
    OutputWindow,
    markdown_html,
    output_window,
    result_view,
)
from hoist.server.panel.reads import MAX_METRIC_POINTS, main_percent, percent
from hoist.server.panel.run_files import RunFiles, run_files
from hoist.settings import Settings

__all__ = ["Bar", "Node", "RunDigest", "digest_run", "run_state"]

MAX_CHILDREN = 200
_STATE: dict[str, str] = {
    RunStatus.QUEUED: "pending", RunStatus.RUNNING: "running", "awaiting": "awaiting",
    RunStatus.SUCCEEDED: "done", RunStatus.FAILED: "failed", RunStatus.CANCELLED: "cancelled",
    RunStatus.LOST: "failed",
}  # fmt: skip
_PHASE = {"started": "running", "finished": "done", "skipped": "skipped", "failed": "failed",
          "cancelled": "cancelled", "rolled_back": "rolled back",
          "rollback_failed": "failed"}  # fmt: skip
_LEVELS = frozenset({"debug", "info", "success", "warning", "error"})


def run_state(run: Run) -> str:
    """The bar state of a run: pending, running, awaiting (a person), done, failed or
    cancelled."""
    return _STATE.get(str(run.status), "running")


@dataclass(frozen=True, slots=True)
class Bar:
    """One progress bar. ``percent`` is ``None`` for an indeterminate bar."""

    key: str
    label: str
    percent: float | None
    state: str
    detail: str = ""


@dataclass(slots=True)
class Node:
    """A child run (or a pipeline node not started yet) with its steps and sub-runs."""

    key: str
    run: Run | None
    bar: Bar
    steps: list[Bar] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class RunDigest:
    """Everything a run page shows apart from its log."""

    run: Run
    overall: Bar
    categories: list[Bar]
    steps: list[Bar]
    tree: list[Node]
    metrics: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    outputs: OutputWindow
    result: OutputView | None
    files: list[RunFiles]


def _overall(store: RunStore, run: Run) -> tuple[Bar, list[Bar]]:
    found = {k: (e.current, e.total) for k, e in store.latest_progress(run.id).items()}
    state = run_state(run)
    main = found.get(None)
    if run.status is RunStatus.SUCCEEDED:
        value: float | None = 100.0
    elif main is not None:
        value = percent(*main)
    else:
        value = None if state in ("running", "awaiting") else 0.0
    detail = f"{main[0]:g} / {main[1]:g}" if main else ""
    overall = Bar("overall", "Overall", value, state, detail)
    categories = [
        Bar(f"cat-{name}", name, percent(cur, tot), state, f"{cur:g} / {tot:g}")
        for name, (cur, tot) in sorted(found.items(), key=lambda kv: str(kv[0]))
        if name is not None
    ]
    return overall, categories


def _steps(store: RunStore, run: Run, prefix: str = "step") -> list[Bar]:
    phases: dict[str, str] = {}
    for event in store.events_of_type(run.id, ("step",), 2000):
        if isinstance(event, StepEvent):
            phases[event.step] = event.phase
    bars = []
    for name, phase in phases.items():
        state = _PHASE.get(phase, phase)
        if state == "running" and run.status.is_terminal:
            state = run_state(run) if run.status is not RunStatus.SUCCEEDED else "done"
        value = None if state == "running" else (0.0 if state == "pending" else 100.0)
        if state in ("failed", "cancelled"):
            value = 0.0
        bars.append(Bar(f"{prefix}-{name}", name, value, state, phase.replace("_", " ")))
    return bars


def _child_bar(store: RunStore, run: Run, label: str) -> Bar:
    value = main_percent(store, run)
    state = run_state(run)
    if value is None:
        value = None if state in ("running", "awaiting") else 0.0
    return Bar(f"run-{run.id}", label, value, state, str(run.status))


def _tree(store: RunStore, run: Run) -> list[Node]:
    children = store.list_runs(RunFilter(parent_id=run.id, limit=MAX_CHILDREN))
    children.sort(key=lambda r: (r.created_at, r.id))
    if run.kind is not RunKind.PIPELINE:
        return [Node(c.id, c, _child_bar(store, c, c.action or c.id), _steps(store, c, c.id))
                for c in children]  # fmt: skip
    nodes: dict[str, Node] = {}
    for spec in run.meta.get("nodes", []):
        key = str(spec.get("key"))
        nodes[key] = Node(key, None, Bar(f"node-{key}", key, 0.0, "pending", "pending"))
    for child in children:
        key = str(child.meta.get("node") or child.action or child.id)
        node = nodes.setdefault(key, Node(key, None, Bar(f"node-{key}", key, 0.0, "pending")))
        if child.meta.get("item") is not None:
            label = f"{key}[{child.meta.get('item')}]"
            node.items.append(Node(label, child, _child_bar(store, child, label)))
            continue
        node.run = child  # the latest attempt wins
        node.bar = _child_bar(store, child, key)
        node.steps = _steps(store, child, f"{key}-step")
    for node in nodes.values():
        if node.run is None and node.items:
            done = [i.bar.percent or 0.0 for i in node.items]
            state = "done" if all(i.bar.state == "done" for i in node.items) else "running"
            node.bar = Bar(f"node-{node.key}", node.key, round(sum(done) / len(done), 1), state)
    return list(nodes.values())


def _metrics(store: RunStore, run: Run) -> list[dict[str, Any]]:
    points = []
    found = store.events_of_type(run.id, ("metrics",), MAX_METRIC_POINTS, newest_first=True)
    for event in reversed(found):
        if not isinstance(event, MetricsEvent):
            continue
        values = {k: v for k, v in event.values.items()
                  if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
        if values:
            points.append({"seq": event.seq, "ts": event.ts, "category": event.category,
                           "values": values})  # fmt: skip
    return points


def messages_of(store: RunStore, run: Run, limit: int = 50) -> list[dict[str, Any]]:
    """The run's newest messages, oldest first, their Markdown rendered and sanitised."""
    out = []
    for event in reversed(store.events_of_type(run.id, ("message",), limit, newest_first=True)):
        if isinstance(event, MessageEvent):
            level = event.level.lower()
            out.append({"seq": event.seq, "ts": event.ts, "html": markdown_html(event.text),
                        "level": level if level in _LEVELS else "info"})  # fmt: skip
    return out


def artifact_href(runs_dir: Path, run: Run, path: str) -> str | None:
    """The API URL of an artifact recorded by ``run``, or ``None`` if it lies outside
    every run folder (the API serves files only from inside one)."""
    file = Path(path)
    if not file.is_absolute():
        owner, relative = run.id, Path("artifacts") / file
    else:
        try:
            inside = file.resolve().relative_to(runs_dir.resolve())
        except ValueError:
            return None
        if len(inside.parts) < 2:
            return None
        owner, relative = inside.parts[0], Path(*inside.parts[1:])
    if ".." in relative.parts:
        return None
    return f"/api/v1/runs/{quote(owner)}/artifacts/{quote(relative.as_posix())}"


def _artifacts(store: RunStore, run: Run, runs_dir: Path) -> list[dict[str, Any]]:
    out = []
    for event in store.events_of_type(run.id, ("artifact",), 500):
        if isinstance(event, ArtifactEvent):
            href = artifact_href(runs_dir, run, event.path)
            out.append({"name": event.name or Path(event.path).name, "path": event.path,
                        "size": event.size, "href": href})  # fmt: skip
    return out


def digest_run(
    store: RunStore,
    run: Run,
    runs_dir: Path,
    *,
    outputs: bool = True,
    settings: Settings | None = None,
) -> RunDigest:
    """Read everything but the log of ``run``'s page (and its outputs unless asked:
    the live parts leave them out, the page appends new outputs by itself). With
    ``settings`` (the server's), its files include the artifacts it published to a
    storage location."""
    overall, categories = _overall(store, run)
    tree = _tree(store, run)
    artifacts = _artifacts(store, run, runs_dir)
    for node in tree:  # a pipeline's files are written by its action runs
        for sub in [node, *node.items]:
            if sub.run is not None:
                artifacts.extend(_artifacts(store, sub.run, runs_dir))
    return RunDigest(
        run=run,
        overall=overall,
        categories=categories,
        steps=_steps(store, run),
        tree=tree,
        metrics=_metrics(store, run),
        messages=messages_of(store, run),
        artifacts=artifacts,
        outputs=output_window(store, run.id) if outputs else OutputWindow([], False),
        result=result_view(store, run),
        files=run_files(runs_dir, run.id, store=store, settings=settings),
    )


def list_bars(store: RunStore, runs: list[Run]) -> dict[str, Bar]:
    """The main bar of each run (runs list, live updates)."""
    return {run.id: _child_bar(store, run, run.action or run.id) for run in runs}
