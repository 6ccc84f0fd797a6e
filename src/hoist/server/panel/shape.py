"""The shape of a pipeline run, laid out on the server for SVG: its DAG (nodes in
columns by depth, edges from each dependency) and its timeline (a Gantt bar for each
node's run and each of its steps, on one time axis), from the digest's tree."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the digest builds its shape with this module
    from hoist.server.panel.bars import Span
    from hoist.server.panel.digest import Node

__all__ = ["Dag", "DagEdge", "DagNode", "Timeline", "TimelineRow", "dag_of", "timeline_of"]

NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 150, 40, 56, 14, 8
LABEL_W, CHART_W, ROW_H = 170, 630, 20
MAX_ROWS = 600
"""Timeline rows drawn at most: beyond it, the nodes' steps are left out first."""


@dataclass(frozen=True, slots=True)
class DagNode:
    """A node's box: top-left corner, its state and how far it is."""

    key: str
    state: str
    percent: float | None
    x: float
    y: float
    href: str | None


@dataclass(frozen=True, slots=True)
class DagEdge:
    """A dependency drawn as a curve (SVG path data ``d``) from ``source`` to ``target``."""

    source: str
    target: str
    d: str
    state: str


@dataclass(frozen=True, slots=True)
class Dag:
    """A pipeline's graph, ready for SVG."""

    nodes: list[DagNode]
    edges: list[DagEdge]
    width: float
    height: float
    node_w: float = NODE_W
    node_h: float = NODE_H


def _depths(tree: list[Node]) -> dict[str, int]:
    """Each node's column: the longest chain of dependencies before it."""
    keys = {n.key for n in tree}
    deps = {n.key: [d for d in n.depends_on if d in keys] for n in tree}
    depth: dict[str, int] = {}

    def visit(key: str, seen: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        if key in seen:  # a cycle cannot be built; stay safe on a stored record
            return 0
        found = max((visit(d, seen | {key}) + 1 for d in deps[key]), default=0)
        depth[key] = found
        return found

    for n in tree:
        visit(n.key, frozenset())
    return depth


def dag_of(tree: list[Node]) -> Dag | None:
    """The DAG of a pipeline's nodes (``None`` without nodes). Columns by depth, left to
    right; in each column nodes are ordered by the mean row of their dependencies, so
    parallel branches sit side by side and edges rarely cross."""
    if not tree:
        return None
    depth = _depths(tree)
    columns: dict[int, list[Node]] = {}
    for n in tree:
        columns.setdefault(depth[n.key], []).append(n)
    row: dict[str, float] = {}
    for col in sorted(columns):
        members = columns[col]
        members.sort(key=lambda n: _mean([row[d] for d in n.depends_on if d in row], 0.0))
        for i, n in enumerate(members):
            row[n.key] = float(i)
    place = {n.key: (PAD + depth[n.key] * (NODE_W + COL_GAP), PAD + row[n.key] * (NODE_H + ROW_GAP))
             for n in tree}  # fmt: skip
    nodes = [
        DagNode(n.key, n.bar.state, n.bar.percent, *place[n.key],
                f"/runs/{n.run.id}" if n.run is not None else None)
        for n in tree
    ]  # fmt: skip
    state = {n.key: n.bar.state for n in tree}
    edges = []
    for n in tree:
        x2, y2 = place[n.key]
        for dep in n.depends_on:
            if dep not in place:
                continue
            x1, y1 = place[dep]
            sx, sy, tx, ty = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
            bend = (tx - sx) / 2
            d = f"M{sx:g},{sy:g} C{sx + bend:g},{sy:g} {tx - bend:g},{ty:g} {tx:g},{ty:g}"
            edges.append(DagEdge(dep, n.key, d, state[dep]))
    width = PAD * 2 + (max(depth.values()) + 1) * (NODE_W + COL_GAP) - COL_GAP
    height = PAD * 2 + max(len(c) for c in columns.values()) * (NODE_H + ROW_GAP) - ROW_GAP
    return Dag(nodes, edges, width, height)


def _mean(values: list[float], empty: float) -> float:
    return sum(values) / len(values) if values else empty


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One bar of the timeline, in SVG units: a node's run (level 0) or a step or item
    of it (level 1); ``start``/``end`` are epoch seconds (``end`` ``None`` while it
    runs: the page stretches it to now)."""

    key: str
    label: str
    state: str
    level: int
    y: float
    x: float
    width: float
    start: float | None
    end: float | None
    title: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """A pipeline's Gantt chart: rows over one time axis from ``t0`` to ``t1``."""

    rows: list[TimelineRow]
    t0: float
    t1: float
    height: float
    ticks: list[tuple[float, str]]
    cut: int
    label_w: float = LABEL_W
    chart_w: float = CHART_W
    row_h: float = ROW_H


def timeline_of(tree: list[Node], now: float | None = None) -> Timeline | None:
    """The timeline of a pipeline's nodes and their steps (``None`` before any started).
    Rows keep the pipeline's node order, each node's steps right under it; a row still
    going ends at ``now``."""
    now = time.time() if now is None else now
    spans: list[Span] = [s for n in tree for s in n.spans if s.start is not None]
    if not spans:
        return None
    if len(spans) > MAX_ROWS:  # every node keeps its row; their steps go first
        spans = [s for s in spans if s.level == 0] or spans
    t0 = min(s.start for s in spans if s.start is not None)
    t1 = max(max((s.end or now) for s in spans), t0 + 0.001)
    scale = CHART_W / (t1 - t0)
    rows = []
    for i, s in enumerate(spans[:MAX_ROWS]):
        start = s.start if s.start is not None else t0
        end = s.end if s.end is not None else now
        x = LABEL_W + (start - t0) * scale
        took = f"{end - start:.1f} s" + ("" if s.end is not None else " so far")
        rows.append(TimelineRow(s.key, s.label, s.state, s.level, i * ROW_H, x,
                                max(2.0, (end - start) * scale), s.start, s.end,
                                f"{s.label}: {s.state}, {took}"))  # fmt: skip
    cut = sum(len(n.spans) for n in tree) - len(rows)
    return Timeline(rows, t0, t1, len(rows) * ROW_H + 18, _ticks(t1 - t0), cut)


def _ticks(seconds: float) -> list[tuple[float, str]]:
    """Up to about six round marks along the axis, as ``(x, "12 s")``."""
    step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600,
                             7200, 21600, 86400) if seconds / s <= 6), 86400.0)  # fmt: skip
    marks, t = [], 0.0
    while t <= seconds + 1e-9:
        label = f"{t:g} s" if step < 60 else f"{t / 60:g} min"
        marks.append((LABEL_W + t * CHART_W / seconds, label))
        t += step
    return marks
