"""The panel's overall bar of a pipeline is the CLI's: both call the one rule of
:mod:`hoist.pipelines.progress` (a node part way counts its part), rounded as people
read it; a step's bar is its part of its run's main bar."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hoist.pipelines.progress import node_percent, overall_percent, pipeline_progress
from hoist.runs.models import (
    ProgressEvent,
    Run,
    RunKind,
    RunStatus,
    StepEvent,
    new_run_id,
)
from hoist.runs.store import RunStore
from hoist.server.panel.bars import shown, shown_count
from hoist.server.panel.digest import digest_run, list_bars

NODES = ("fetch", "train", "report")


def partial_pipeline(store: RunStore) -> str:
    """A running pipeline of three nodes: ``fetch`` done, ``train`` at 80 % and
    ``report`` not started; the pipeline's own counter says one node of three. The CLI
    shows 60 %, the pipeline's counter 33 %."""
    now = time.time()
    specs = [{"key": k, "action": k, "depends_on": [NODES[i - 1]] if i else []}
             for i, k in enumerate(NODES)]  # fmt: skip
    run = Run(id=new_run_id(), kind=RunKind.PIPELINE, plugin="shapes", action="flow",
              status=RunStatus.RUNNING, created_at=now, started_at=now,
              meta={"nodes": specs})  # fmt: skip
    fetch = Run(id=new_run_id(), parent_id=run.id, plugin="shapes", action="fetch",
                status=RunStatus.SUCCEEDED, created_at=now, started_at=now,
                finished_at=now + 1, meta={"node": "fetch", "attempt": 1})  # fmt: skip
    train = Run(id=new_run_id(), parent_id=run.id, plugin="shapes", action="train",
                status=RunStatus.RUNNING, created_at=now + 1, started_at=now + 1,
                meta={"node": "train", "attempt": 1})  # fmt: skip
    events = [
        StepEvent(run_id=run.id, seq=1, ts=now, step="fetch", phase="started"),
        StepEvent(run_id=run.id, seq=2, ts=now + 1, step="fetch", phase="finished"),
        ProgressEvent(run_id=run.id, seq=3, ts=now + 1, current=1, total=3),
        StepEvent(run_id=run.id, seq=4, ts=now + 1, step="train", phase="started"),
        ProgressEvent(run_id=fetch.id, seq=1, ts=now + 0.5, current=1, total=2),
        # the train action's steps: "load" done (weight 25), "fit" running (weight 75)
        StepEvent(run_id=train.id, seq=1, ts=now + 1, step="load", phase="started", weight=25),
        StepEvent(run_id=train.id, seq=2, ts=now + 2, step="load", phase="finished", weight=25),
        StepEvent(run_id=train.id, seq=3, ts=now + 2, step="fit", phase="started", weight=75),
        ProgressEvent(run_id=train.id, seq=4, ts=now + 3, current=80, total=100),
    ]
    store.write_batch([run, fetch, train], events)
    return run.id


def test_the_shared_rule() -> None:
    assert node_percent(True, 10.0) == 100.0
    assert node_percent(False, 80.0) == 80.0
    assert node_percent(False, 140.0) == 100.0
    assert node_percent(False, None, [100.0, 50.0]) == 75.0
    assert node_percent(False) == 0.0
    assert overall_percent([100.0, 80.0, 0.0]) == pytest.approx(60.0)
    assert overall_percent([0.0, 0.0], succeeded=True) == 100.0
    assert overall_percent([]) == 0.0
    assert shown(59.5) == 60.0 and shown(33.333) == 33.0 and shown(None) is None
    assert shown(62.5) == 62.0  # halves to even, as the CLI's "{:.0f}" and run.js do
    counts = [shown_count(v) for v in (12, 1_200_000.0, 1234.5, 1 / 3)]
    assert counts == ["12", "1,200,000", "1,234.50", "0.333"]


def test_panel_and_cli_agree_on_a_partly_done_child(tmp_path: Path) -> None:
    store = RunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        run_id = partial_pipeline(store)
        cli = pipeline_progress(store, run_id)
        assert cli.overall == pytest.approx(60.0)
        assert [a.progress for a in cli.actions] == [100.0, 80.0, 0.0]
        panel = digest_run(store, store.get_run(run_id), tmp_path)
        assert panel.overall.percent == round(cli.overall) == 60
        assert panel.overall.detail == "1 / 3 actions"
        assert list_bars(store, [store.get_run(run_id)])[run_id].percent == 60  # runs list
        train = next(n for n in panel.tree if n.key == "train")
        steps = {b.label: b for b in train.steps}
        # fit's share of the main bar is 25..100; at 80 it is (80 - 25) / 75 done
        assert steps["load"].percent == 100 and steps["fit"].percent == round(100 * 55 / 75)
        assert [s.label for s in train.spans] == ["train", "load", "fit"]
        assert train.spans[2].end is None  # still going
    finally:
        store.close()
