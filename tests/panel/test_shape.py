"""The layout of a pipeline run's graph and timeline (hoist.server.panel.shape)."""

from __future__ import annotations

from hoist.server.panel.bars import Bar, Span
from hoist.server.panel.digest import Node
from hoist.server.panel.shape import MAX_ROWS, NODE_W, dag_of, timeline_of


def _node(key: str, deps: tuple[str, ...] = (), state: str = "done", spans: int = 0) -> Node:
    bar = Bar(f"node-{key}", key, 100.0 if state == "done" else 0.0, state)
    own = [Span(f"node-{key}", key, state, 10.0, 12.0)]
    steps = [Span(f"{key}-s{i}", f"s{i}", state, 10.0 + i, 11.0 + i, 1) for i in range(spans)]
    return Node(key, None, bar, depends_on=deps, spans=own + steps)


def test_a_diamond_in_three_columns() -> None:
    tree = [_node("fetch"), _node("left", ("fetch",)), _node("right", ("fetch",), "running"),
            _node("join", ("left", "right"), "pending")]  # fmt: skip
    dag = dag_of(tree)
    assert dag is not None
    at = {n.key: (n.x, n.y) for n in dag.nodes}
    assert at["fetch"][0] < at["left"][0] == at["right"][0] < at["join"][0]
    assert at["left"][1] != at["right"][1]  # side by side: parallel branches
    assert {(e.source, e.target) for e in dag.edges} == {
        ("fetch", "left"), ("fetch", "right"), ("left", "join"), ("right", "join")}  # fmt: skip
    assert {e.source: e.state for e in dag.edges}["right"] == "running"
    assert dag.width >= 3 * NODE_W and dag_of([]) is None


def test_timeline_keeps_every_node_before_steps() -> None:
    tree = [_node(f"n{i}", spans=5) for i in range(MAX_ROWS // 3)]
    timeline = timeline_of(tree, now=20.0)
    assert timeline is not None
    assert [r.label for r in timeline.rows] == [n.key for n in tree]  # steps left out
    assert timeline.cut == 5 * len(tree)
    small = timeline_of(tree[:2], now=20.0)
    assert small is not None and [r.level for r in small.rows] == [0, 1, 1, 1, 1, 1] * 2
    assert small.t0 == 10.0 and small.t1 == 15.0 and small.cut == 0
    assert timeline_of([Node("x", None, Bar("node-x", "x", 0.0, "pending"))]) is None
