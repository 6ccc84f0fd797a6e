"""The shape of a pipeline run in a real browser (Debian's chromium through Playwright):
its DAG turns all green live as the nodes finish, its timeline has a row for each node,
and its overall bar is the CLI's number for a run with a partly done child.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.pipelines.progress import pipeline_progress
from hoist.runs.models import RunStatus
from tests.conftest import REPO, write_files
from tests.panel.browsing import browser, logged_in, wait_badge  # noqa: F401 (a fixture)
from tests.panel.conftest import wait_status
from tests.panel.test_progress_agreement import partial_pipeline
from tests.server.conftest import LiveServer, serve, server_settings

ARTIFACTS = REPO / "test-artifacts"
NODES = ("fetch", "left", "right", "join")

CONFIG = """\
name: Shape Test
code: shapetest
version: 0.1.0
category: export
description: A diamond pipeline for the graph and timeline tests
requirements: []
actions:
  fetch:
    entrypoint: plugin.actions:Fetch
    description: Wait for the gate file, then hand on some data
  branch:
    entrypoint: plugin.actions:Branch
    description: Work on one side
  join:
    entrypoint: plugin.actions:Join
    description: Add both sides
  staged:
    entrypoint: plugin.actions:Staged
    description: Two steps; the second stops a third of the way until the gate opens
pipelines:
  diamond:
    description: fetch, two branches at once, join
    nodes:
      fetch: {action: fetch}
      left: {action: branch, depends_on: [fetch], params: {side: left}}
      right: {action: branch, depends_on: [fetch], params: {side: right}}
      join: {action: join, depends_on: [left, right]}
"""

ACTIONS = """
import time
from pathlib import Path
from pydantic import BaseModel
from hoist import BaseAction, BaseStep, StepResult


class FetchParams(BaseModel):
    gate: str


class Fetch(BaseAction[FetchParams]):
    def execute(self):
        while not Path(self.params.gate).exists():  # the test opens the gate
            self.ctx.check_cancelled()
            time.sleep(0.05)
        return {"data": 3}


class BranchParams(BaseModel):
    data: int = 0
    side: str = "left"


class Branch(BaseAction[BranchParams]):
    def execute(self):
        for i in range(4):
            self.set_progress(i + 1, 4)
            time.sleep(0.05)
        return {self.params.side: self.params.data * 2}


class JoinParams(BaseModel):
    left: int = 0
    right: int = 0


class Join(BaseAction[JoinParams]):
    def execute(self):
        return {"total": self.params.left + self.params.right}


class Load(BaseStep):
    name = "load"
    progress_weight = 1.0

    def execute(self, context):
        return StepResult()


class Fit(BaseStep):
    name = "fit"
    progress_weight = 3.0

    def execute(self, context):
        while not Path(context.params.gate).exists():
            context.set_progress(1, 3)  # again: the context spaces progress events out
            time.sleep(0.05)
        context.set_progress(3, 3)
        return StepResult()


class Staged(BaseAction[FetchParams]):
    def setup_steps(self, registry):
        registry.register(Load())
        registry.register(Fit())
"""

NODE_STATES = """() => Object.fromEntries([...document.querySelectorAll('#dag g.dag-node')]
  .map(g => [g.getAttribute('data-node'), g.getAttribute('class')]))"""

ALL_GREEN = """n => { const nodes = [...document.querySelectorAll('#dag g.dag-node')];
  return nodes.length === n
    && nodes.every(g => /\\bstate-done\\b/.test(g.getAttribute('class'))); }"""

RUNNING = """k => /\\bstate-running\\b/.test(
  document.querySelector(`#dag g.dag-node[data-node="${k}"]`)?.getAttribute('class') || '')"""


@pytest.fixture
def panel(hoist_home: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server with the panel, serving the examples and ``shapetest``."""
    plugins = tmp_path / "plugins"
    write_files(plugins / "shapetest", {
        "config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS,
    })  # fmt: skip
    settings = server_settings(hoist_home)
    settings = settings.with_(plugin_paths=(*settings.plugin_paths, plugins))
    with serve(settings, keepalive=0.5) as live:
        yield live


def test_dag_turns_green_live_and_timeline_has_each_node(
    browser: Any,  # noqa: F811
    panel: LiveServer,
    tmp_path: Path,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    gate = tmp_path / "gate"
    admin = panel.client("admin")
    with logged_in(browser, panel, "viewer", "/runs") as (page, _):
        run_id = admin.launch("shapetest", pipeline="diamond", params={"gate": str(gate)})
        page.goto(f"/runs/{run_id}")
        # The page is live while fetch waits at its gate: the graph shows the diamond.
        page.wait_for_function(RUNNING, arg="fetch")
        assert page.get_attribute("#run", "data-terminal") == "false"
        states = page.evaluate(NODE_STATES)
        assert sorted(states) == sorted(NODES)
        assert page.locator("#dag path.edge").count() == 4  # fetch->left/right->join
        page.screenshot(path=str(ARTIFACTS / "pipeline-dag-running.png"), full_page=True)

        gate.write_text("open")
        page.wait_for_function(ALL_GREEN, arg=len(NODES))  # live, without a reload
        wait_badge(page, "succeeded")
        page.wait_for_function(
            "() => document.querySelector('#part-progress [data-bar=overall] progress')"
            "?.value === 100"
        )
        rows = page.evaluate(
            "() => [...document.querySelectorAll('#timeline g.tl-row.level-0')]"
            ".map(g => g.getAttribute('data-node'))"
        )
        assert sorted(rows) == sorted(NODES)
        page.screenshot(path=str(ARTIFACTS / "pipeline-dag-done.png"), full_page=True)
    run = wait_status(panel, run_id, RunStatus.SUCCEEDED)
    assert run.result is not None and run.result["total"] == 12


def test_overall_bar_is_the_cli_number(browser: Any, panel: LiveServer) -> None:  # noqa: F811
    store = panel.state.store
    run_id = partial_pipeline(store)
    cli = round(pipeline_progress(store, run_id).overall)
    assert cli == 60  # one node done, one at 80 %, one to go
    with logged_in(browser, panel, "viewer", "/runs") as (page, _):
        page.goto(f"/runs/{run_id}")
        overall = page.locator('#part-progress [data-bar="overall"]')
        assert overall.locator("progress").get_attribute("value") == str(float(cli))
        assert overall.locator(".bar-pct").inner_text() == f"{cli}%"
        fit = page.locator('#part-progress [data-bar="train-step-fit"] .bar-pct')
        assert fit.inner_text() == f"{round(100 * 55 / 75)}%"
        page.screenshot(path=str(ARTIFACTS / "pipeline-partial-overall.png"), full_page=True)


def test_a_steps_bar_moves_with_its_progress(
    browser: Any,  # noqa: F811
    panel: LiveServer,
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    admin = panel.client("admin")
    with logged_in(browser, panel, "viewer", "/runs") as (page, _):
        run_id = admin.launch("shapetest", "staged", params={"gate": str(gate)})
        page.goto(f"/runs/{run_id}")
        # fit is a third of the way: its bar says 33 %, the main bar 25 + 75 / 3 = 50 %
        page.wait_for_function(
            "() => document.querySelector('#part-progress [data-bar=\"step-fit\"] .bar-pct')"
            "?.textContent === '33%'"
        )
        page.wait_for_function(
            "() => document.querySelector('#part-progress [data-bar=overall] .bar-pct')"
            "?.textContent === '50%'"
        )
        load = page.locator('#part-progress [data-bar="step-load"] .bar-pct')
        assert load.inner_text() == "100%"
        page.screenshot(path=str(ARTIFACTS / "steps-bar-part-way.png"), full_page=True)
        gate.write_text("open")
        wait_badge(page, "succeeded")
        page.wait_for_function(
            "() => document.querySelector('#part-progress [data-bar=\"step-fit\"] .bar-pct')"
            "?.textContent === '100%'"
        )
