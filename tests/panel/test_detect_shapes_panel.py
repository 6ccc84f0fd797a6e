"""The detect_shapes pipeline in the panel, in a real browser (Debian's chromium through
Playwright): its bars move while it trains, the train node's page shows the epoch bar
autolog feeds, and the finished run shows every node done with its files."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from hoist.runs.models import RunStatus
from tests.conftest import need
from tests.panel.browsing import browser, logged_in, wait_badge  # noqa: F401 (a fixture)
from tests.panel.conftest import wait_status
from tests.server.conftest import LiveServer

# Lightning 2.6 on torch 2.13 warns about its own use of torch APIs (the server runs the
# pipeline in this process); pytest turns warnings into errors.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
]

NODES = ("generate", "convert", "train", "predict", "export")

# The pipeline page while it runs: the overall bar part way, the train node started
# (running, or done while predict and export still run) with a link to its run.
RUNNING = """() => {
  const overall = document.querySelector('#part-progress [data-bar="overall"] progress');
  const node = [...document.querySelectorAll('#run-tree li.node')]
    .find(li => li.querySelector('.bar-label')?.textContent === 'train');
  const bar = node?.querySelector('.bar');
  const value = Number(overall?.getAttribute('value'));
  const started = bar && /state-(running|done)/.test(bar.className);
  return Boolean(started && node.querySelector('a.node-link') && value > 0 && value < 100);
}"""

TRAIN_LINK = """() => [...document.querySelectorAll('#run-tree li.node')]
  .find(li => li.querySelector('.bar-label')?.textContent === 'train')
  .querySelector('a.node-link').getAttribute('href')"""

NODE_STATES = """() => Object.fromEntries([...document.querySelectorAll('#run-tree li.node')]
  .map(li => [li.querySelector('.bar-label').textContent, li.querySelector('.bar').className]))"""


def test_detect_flow_shows_live_bars_and_the_epoch_bar(browser: Any, panel: LiveServer) -> None:  # noqa: F811
    for module in ("torch", "lightning"):
        if importlib.util.find_spec(module) is None:
            need(f"{module} is not installed: pip install -e '.[autolog]' torch==2.13.0")
    admin = panel.client("admin")
    with logged_in(browser, panel, "viewer", "/runs") as (page, _):
        # Launched once the browser is in, so its page is live before training starts.
        run_id = admin.launch("detect_shapes", pipeline="detect_flow",
                              params={"images": 160, "epochs": 20})  # fmt: skip
        page.goto(f"/runs/{run_id}")
        page.wait_for_function(RUNNING)
        page.goto(page.evaluate(TRAIN_LINK))
        epoch_bar = page.locator('#part-progress [data-bar="cat-train"]')
        epoch_bar.wait_for()  # autolog's epochs, category "train"
        assert epoch_bar.locator(".bar-label").inner_text() == "train"
        wait_badge(page, "succeeded")
        page.wait_for_function(
            "() => document.querySelector('#part-progress [data-bar=\"cat-train\"] .bar-detail')"
            "?.textContent === '20 / 20'"
        )
        page.wait_for_selector('.metric-chart[data-series="train/val_iou"] g.trace path.js-line')

        page.goto(f"/runs/{run_id}")
        wait_badge(page, "succeeded")
        page.wait_for_function(
            "() => document.querySelector('#part-progress [data-bar=overall] progress').value"
            " === 100"
        )
        # Read the finished tree from a fresh render: the live page's last refresh can
        # still show the last node running (its status is committed after the
        # pipeline's; reported to the panel's owner).
        page.reload()
        states = page.evaluate(NODE_STATES)
        assert sorted(states) == sorted(NODES)
        assert all("state-done" in css for css in states.values()), states
        files = page.locator("#part-outcome, #part-files").all_inner_texts()
        assert any("shapes_detector.pt2" in text for text in files)
        assert any("weights.pt" in text for text in files)
    run = wait_status(panel, run_id, RunStatus.SUCCEEDED)
    assert run.result is not None and run.result["mean_iou"] > run.result["baseline_iou"]
