"""What a run page shows, read through the :class:`RunStore`: the bars (overall, per
category, per step; :mod:`~hoist.server.panel.bars`), the tree of child runs (a
pipeline's also as a graph and a timeline, :mod:`~hoist.server.panel.shape`), metrics,
messages, the newest outputs, the result, artifacts and files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hoist.pipelines.progress import node_percent, overall_percent
from hoist.runs.models import (
    ArtifactEvent,
    Event,
    MessageEvent,
    ProgressEvent,
    Run,
    RunKind,
    RunStatus,
    StepEvent,
)
from hoist.runs.reader import RunFilter
from hoist.runs.store import RunStore
from hoist.server.panel.bars import Bar, Span, count_of, run_state, shown
from hoist.server.panel.charts import metric_points
from hoist.server.panel.outputs import (
    OutputView,
    OutputWindow,
    markdown_html,
    output_window,
    result_view,
)
from hoist.server.panel.reads import main_of, main_percent, percent
from hoist.server.panel.run_files import RunFiles, run_files
from hoist.server.panel.shape import Dag, Timeline, dag_of, timeline_of
from hoist.settings import Settings

__all__ = ["Node", "RunDigest", "artifact_href", "digest_run", "list_bars", "messages_of"]

MAX_CHILDREN = 200
COMPACT_TREE = 30
"""Nodes beyond which the tree of bars shows no steps under each node."""
MAX_OWN_EVENTS = 2500
"""Step events read from a pipeline run's own log for its page (its nodes' phases)."""
SHOWN_STEPS = 100
"""Steps a run's page shows: the newest (a long run's older step events are not read)."""
SHOWN_ARTIFACTS = 100
"""Artifacts of its own a run's page lists: the newest (its Files part lists every file)."""
MAX_CHILD_EVENTS = 50_000
"""Step and artifact events read, in all, from the child runs of one page."""
_PHASE = {"started": "running", "finished": "done", "skipped": "skipped", "failed": "failed",
          "cancelled": "cancelled", "rolled_back": "rolled back",
          "rollback_failed": "failed"}  # fmt: skip
_LEVELS = frozenset({"debug", "info", "success", "warning", "error"})


@dataclass(slots=True)
class Node:
    """A child run (or a pipeline node not started yet) with its steps and sub-runs."""

    key: str
    run: Run | None
    bar: Bar
    steps: list[Bar] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    depends_on: tuple[str, ...] = ()
    spans: list[Span] = field(default_factory=list)
    """The node's run (first) and its steps, for the timeline."""
    share: float = 0.0
    """How far the node is, in percent, unrounded (:func:`node_percent`)."""
    artifacts: list[Event] = field(default_factory=list)
    """The ``artifact`` events of its run (the pipeline's page lists their files)."""


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
    dag: Dag | None = None
    timeline: Timeline | None = None
    older_steps: bool = False
    """Whether the run has steps older than :attr:`steps` (not shown)."""
    older_artifacts: int = 0
    """How many of the run's own artifacts are older than those listed (not listed)."""

    @property
    def compact(self) -> bool:
        """A big tree leaves out each node's steps (its timeline and page have them)."""
        return len(self.tree) > COMPACT_TREE


def _overall(
    store: RunStore, run: Run, tree: list[Node]
) -> tuple[Bar, list[Bar], float | None]:  # fmt: skip
    found = {k: (e.current, e.total) for k, e in store.latest_progress(run.id).items()}
    state = run_state(run)
    main = found.get(None)
    main_value = None if main is None else percent(*main)
    if run.kind is RunKind.PIPELINE and tree:
        # The one rule of hoist.pipelines.progress (the CLI's): a node part way counts its
        # part, not the pipeline's own "nodes done / nodes" counter.
        done = sum(1 for node in tree if node.bar.state == "done")
        value: float | None = overall_percent(
            (n.share for n in tree), run.status is RunStatus.SUCCEEDED
        )
        detail = f"{done} / {len(tree)} actions"
    else:
        if run.status is RunStatus.SUCCEEDED:
            value = 100.0
        elif main_value is not None:
            value = main_value
        else:
            value = None if state in ("running", "awaiting") else 0.0
        detail = count_of(*main) if main else ""
    overall = Bar("overall", "Overall", shown(value), state, detail)
    categories = [
        Bar(f"cat-{name}", name, shown(percent(cur, tot)), state, count_of(cur, tot))
        for name, (cur, tot) in sorted(found.items(), key=lambda kv: str(kv[0]))
        if name is not None
    ]
    return overall, categories, main_value


@dataclass(slots=True)
class _Reads:
    """What a page needs from the logs of a run's children (their main bar, their
    step and artifact events), read for all of them at once: a few queries, not a few
    per child."""

    progress: dict[str, ProgressEvent]
    events: dict[str, list[Event]]

    @classmethod
    def of(cls, store: RunStore, runs: list[Run], *, events: bool = True) -> _Reads:
        ids = [r.id for r in runs]
        if not ids:
            return cls({}, {})
        found = (
            store.events_of_type_among(ids, ("step", "artifact"), MAX_CHILD_EVENTS)
            if events
            else {}
        )
        return cls(store.main_progress_among(ids), found)

    def main(self, run: Run) -> float | None:
        return main_of(run, self.progress.get(run.id))

    def of_type(self, run: Run, type_: str) -> list[Event]:
        return [e for e in self.events.get(run.id, ()) if e.type == type_]


def _steps(
    events: Sequence[Event], run: Run, prefix: str = "step", main: float | None = None,
    *, whole: bool = True,
) -> tuple[list[Bar], list[Span]]:  # fmt: skip
    """The run's step bars and timeline spans from its ``step`` events. A running step's
    bar is its part of the run's main bar (``main``, in percent): the orchestrator
    reports each step's progress there, from the share of the steps before it to that
    plus its weight. Without the ``whole`` log of steps (a long run's newest), the share
    before it is unknown: its bar runs without a value."""
    phases: dict[str, StepEvent] = {}
    starts: dict[str, float] = {}
    for event in events:
        if isinstance(event, StepEvent):
            phases[event.step] = event
            if event.phase == "started":
                starts[event.step] = event.ts
    bars, spans, base = [], [], 0.0
    for name, event in phases.items():
        phase = event.phase
        state = _PHASE.get(phase, phase)
        if state == "running" and run.status.is_terminal:
            state = run_state(run) if run.status is not RunStatus.SUCCEEDED else "done"
        value = None if state == "running" else (0.0 if state == "pending" else 100.0)
        if state in ("failed", "cancelled"):
            value = 0.0
        weight = event.weight if whole else 0.0
        if state == "running" and main is not None and weight > 0:
            value = max(0.0, min(100.0, 100.0 * (main - base) / weight))
        key = f"{prefix}-{name}"
        detail = phase.replace("_", " ")
        bars.append(Bar(key, name, shown(value), state, detail, weight, base))
        end = None if state in ("running", "awaiting") else event.ts
        spans.append(Span(key, name, state, starts.get(name, event.ts), end, 1))
        if phase in ("finished", "skipped"):
            base += event.weight
    return bars, spans


def _child_bar(run: Run, label: str, value: float | None) -> Bar:
    state = run_state(run)
    if value is None:
        value = None if state in ("running", "awaiting") else 0.0
    return Bar(f"run-{run.id}", label, shown(value), state, str(run.status))


def _run_span(run: Run, key: str, label: str, state: str) -> Span:
    end = run.finished_at if run.status.is_terminal else None
    return Span(key, label, state, run.started_at, end)


def _tree(
    store: RunStore, run: Run, own_steps: Sequence[Event], *, bars_only: bool = False
) -> list[Node]:
    """The run's child runs (a pipeline's nodes, with the bar of each); ``bars_only``
    reads no steps or artifacts of the children (the runs list needs only the bars)."""
    children = store.list_runs(RunFilter(parent_id=run.id, limit=MAX_CHILDREN))
    children.sort(key=lambda r: (r.created_at, r.id))
    reads = _Reads.of(store, children, events=not bars_only)
    if run.kind is not RunKind.PIPELINE:
        out = []
        for c in children:
            main = reads.main(c)
            bar = _child_bar(c, c.action or c.id, main)
            bars, _ = _steps(reads.of_type(c, "step"), c, c.id, main)
            out.append(Node(c.id, c, bar, bars, artifacts=reads.of_type(c, "artifact")))
        return out
    nodes: dict[str, Node] = {}
    for spec in run.meta.get("nodes", []):
        key = str(spec.get("key"))
        deps = tuple(str(d) for d in spec.get("depends_on") or ())
        nodes[key] = Node(key, None, Bar(f"node-{key}", key, 0.0, "pending", "pending"),
                          depends_on=deps)  # fmt: skip
    for child in children:
        key = str(child.meta.get("node") or child.action or child.id)
        node = nodes.setdefault(key, Node(key, None, Bar(f"node-{key}", key, 0.0, "pending")))
        if child.meta.get("item") is not None:
            label = f"{key}[{child.meta.get('item')}]"
            main = reads.main(child)
            bar = _child_bar(child, label, main)
            share = node_percent(bar.state == "done", main)
            found = reads.of_type(child, "artifact")
            node.items.append(Node(label, child, bar, share=share, artifacts=found))
            continue
        node.run = child  # the latest attempt wins
        main = reads.main(child)
        node.bar = _child_bar(child, key, main)
        node.share = node_percent(node.bar.state == "done", main)
        node.artifacts = reads.of_type(child, "artifact")
        node.steps, spans = _steps(reads.of_type(child, "step"), child, f"{key}-step", main)
        node.spans = [_run_span(child, f"node-{key}", key, node.bar.state), *spans]
    phases = _node_phases(own_steps)
    for node in nodes.values():
        if node.run is None and node.items:
            shares = [i.share for i in node.items]
            state = "done" if all(i.bar.state == "done" for i in node.items) else "running"
            node.share = node_percent(state == "done", None, shares)
            node.bar = Bar(f"node-{node.key}", node.key, shown(node.share), state)
            starts = [i.run.started_at for i in node.items if i.run and i.run.started_at]
            ends = [i.run.finished_at for i in node.items if i.run and i.run.finished_at]
            end = max(ends) if state == "done" and ends else None
            node.spans = [Span(f"node-{node.key}", node.key, state, min(starts, default=None),
                               end)]  # fmt: skip
            node.spans += [_run_span(i.run, f"item-{i.key}", i.key, i.bar.state)
                           for i in node.items if i.run]  # fmt: skip
        phase = phases.get(node.key)
        if phase is not None and phase.phase == "skipped" and node.run is None:
            # resumed: its result came from a checkpoint of an earlier run
            node.bar = Bar(f"node-{node.key}", node.key, 100.0, "done", "skipped (resumed)")
            node.share = 100.0
        elif phase is not None and phase.phase == "finished" and node.bar.state != "done":
            # the pipeline records a node's end before its run's last status is written
            node.bar = Bar(node.bar.key, node.key, 100.0, "done", "succeeded")
            node.share = 100.0
    return list(nodes.values())


def _node_phases(own_steps: Sequence[Event]) -> dict[str, StepEvent]:
    """The newest phase of each node of a pipeline (from its own ``step`` events)."""
    out: dict[str, StepEvent] = {}
    for event in own_steps:
        if isinstance(event, StepEvent):
            out[event.step] = event
    return out


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


def _artifacts(events: Sequence[Event], run: Run, runs_dir: Path) -> list[dict[str, Any]]:
    out = []
    for event in events:
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
    counts = store.event_counts(run.id)
    if run.kind is RunKind.PIPELINE:
        own_steps = store.events_of_type(run.id, ("step",), MAX_OWN_EVENTS)
    else:  # the newest steps (two events each), however long the log
        newest = store.events_of_type(run.id, ("step",), 2 * SHOWN_STEPS, newest_first=True)
        own_steps = newest[::-1]
    whole = counts.get("step", 0) <= len(own_steps)
    own_artifacts = store.events_of_type(run.id, ("artifact",), SHOWN_ARTIFACTS, newest_first=True)
    tree = _tree(store, run, own_steps)
    overall, categories, main = _overall(store, run, tree)
    artifacts = _artifacts(own_artifacts[::-1], run, runs_dir)
    for node in tree:  # a pipeline's files are written by its action runs
        for sub in [node, *node.items]:
            if sub.run is not None:
                artifacts.extend(_artifacts(sub.artifacts, sub.run, runs_dir))
    steps = _steps(own_steps, run, main=main, whole=whole)[0][-SHOWN_STEPS:]
    return RunDigest(
        run=run,
        overall=overall,
        categories=categories,
        steps=[] if run.kind is RunKind.PIPELINE else steps,
        tree=tree,
        metrics=metric_points(store, run.id),
        messages=messages_of(store, run),
        artifacts=artifacts,
        outputs=output_window(store, run.id) if outputs else OutputWindow([], False),
        result=result_view(store, run),
        files=run_files(runs_dir, run.id, store=store, settings=settings),
        dag=dag_of(tree) if run.kind is RunKind.PIPELINE else None,
        timeline=timeline_of(tree) if run.kind is RunKind.PIPELINE else None,
        older_steps=not whole and run.kind is not RunKind.PIPELINE,
        older_artifacts=max(0, counts.get("artifact", 0) - len(own_artifacts)),
    )


def list_bars(store: RunStore, runs: list[Run]) -> dict[str, Bar]:
    """The main bar of each run (runs list, live updates); a pipeline's is its overall
    bar, as its page and the CLI show it."""
    bars = {}
    for run in runs:
        if run.kind is RunKind.PIPELINE and run.status is not RunStatus.SUCCEEDED:
            steps = store.events_of_type(run.id, ("step",), MAX_OWN_EVENTS)
            overall = _overall(store, run, _tree(store, run, steps, bars_only=True))[0]
            bars[run.id] = Bar(f"run-{run.id}", run.action or run.id, overall.percent,
                               overall.state, str(run.status))  # fmt: skip
        else:
            bars[run.id] = _child_bar(run, run.action or run.id, main_percent(store, run))
    return bars
