"""Charts and compare in a real browser (Debian's chromium through Playwright): metrics
plotted by plotly.js served by the panel (axes, several series, counters on x, a single
value as a number), a pipeline rolling up its action runs' metrics, and two runs
compared (params diff, metrics overlaid, results). Screenshots kept under
test-artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import (
    EventBase,
    MetricsEvent,
    ResultEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from tests.conftest import REPO
from tests.panel.browsing import browser, logged_in  # noqa: F401 (a fixture)
from tests.server.conftest import LiveServer

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def page(browser: Any, panel: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A page logged in to the panel as a viewer (no JavaScript errors allowed)."""
    with logged_in(browser, panel, "viewer", "/runs") as (page, _):
        yield page


def trained(
    panel: LiveServer, *, params: dict[str, Any], rate: float, parent: Run | None = None,
    node: str | None = None, result: Any = None,
) -> Run:  # fmt: skip
    """A finished ``train`` run that logged ``loss``/``acc`` per epoch and one ``score``."""
    now = time.time() - 60
    run = Run(id=new_run_id(), plugin="paneltest", action="train", params=params,
              created_at=now, parent_id=parent.id if parent else None,
              meta={"node": node} if node else {})  # fmt: skip
    events: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]
    for epoch in range(1, 9):
        values = {"epoch": epoch, "loss": round(2.0 / (epoch * rate), 4), "acc": 0.1 * epoch}
        events.append(MetricsEvent(run_id=run.id, seq=len(events) + 1, ts=now + epoch,
                                   values=values))  # fmt: skip
    events.append(MetricsEvent(run_id=run.id, seq=len(events) + 1, ts=now + 9,
                               values={"score": 0.75 * rate}, category="eval"))  # fmt: skip
    if result is not None:
        events.append(ResultEvent(run_id=run.id, seq=len(events) + 1, ts=now + 10, value=result))
    events.append(StatusEvent(run_id=run.id, seq=len(events) + 1, ts=now + 10,
                              status=RunStatus.SUCCEEDED))  # fmt: skip
    panel.state.store.write_batch([run], events)
    return run


def plotted(page: Any, key: str) -> Any:
    """The chart of ``key``, once plotly.js has drawn its lines."""
    chart = page.locator(f'.metric-chart[data-series="{key}"]')
    chart.locator("g.trace.scatter path.js-line").first.wait_for()
    return chart


def hover_over(chart: Any) -> None:
    """Point at the middle of ``chart``'s plot until plotly.js shows its hover labels
    (a chart that was still settling gets the pointer again)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    drag = chart.locator(".nsewdrag")
    drag.scroll_into_view_if_needed()
    for attempt in range(10):
        box = drag.bounding_box()
        x, y = box["x"] + box["width"] / 2 + attempt, box["y"] + box["height"] / 2
        chart.page.mouse.move(box["x"] + 2, box["y"] + 2)  # enter the plot, then move in it
        chart.page.mouse.move(x, y, steps=5)
        try:
            # a label per series, or one box for all of them (hovermode "x unified")
            chart.locator(".hoverlayer .hovertext, .hoverlayer .legend").first.wait_for(
                timeout=3_000
            )
            return
        except PlaywrightTimeout:
            chart.page.mouse.move(0, 0)  # leave, to come back
    raise AssertionError("plotly.js showed no hover labels")


def test_a_pipeline_rolls_up_its_action_runs_metrics(page: Any, panel: LiveServer) -> None:
    now = time.time() - 120
    pipeline = Run(id=new_run_id(), kind=RunKind.PIPELINE, plugin="demo", action="tune",
                   created_at=now,
                   meta={"nodes": [{"key": "fast"}, {"key": "slow"}]})  # fmt: skip
    panel.state.store.write_batch([pipeline], [
        StatusEvent(run_id=pipeline.id, seq=1, ts=now, status=RunStatus.RUNNING),
        StatusEvent(run_id=pipeline.id, seq=2, ts=now + 30, status=RunStatus.SUCCEEDED),
    ])  # fmt: skip
    trained(panel, params={"lr": 0.1}, rate=2.0, parent=pipeline, node="fast")
    trained(panel, params={"lr": 0.01}, rate=1.0, parent=pipeline, node="slow")

    page.goto(f"/runs/{pipeline.id}")
    loss = plotted(page, "loss")
    assert loss.locator("g.trace.scatter").count() == 2  # both action runs, overlaid
    assert sorted(loss.locator(".legendtext").all_text_contents()) == ["fast", "slow"]
    assert loss.locator("g.xtick").count() >= 3 and loss.locator("g.ytick").count() >= 3
    assert loss.locator(".g-xtitle").text_content() == "epoch"  # the counter is the x axis
    assert page.locator('.metric-chart[data-series="acc"]').count() == 1
    assert page.locator('[data-series="epoch"]').count() == 0  # a counter is no metric
    # One value per run: numbers, not dots.
    score = page.locator('.chart-value[data-series="eval/score"]')
    assert "1.5" in score.inner_text() and "0.75" in score.inner_text()
    assert page.locator('.metric-chart[data-series="eval/score"]').count() == 0

    # Hover shows the values; time on x; smoothing adds a faint raw line per series.
    hover_over(loss)
    hover = " ".join(loss.locator(".hoverlayer .hovertext").all_text_contents())
    # each run's value at the hovered epoch (which epoch depends on the layout's width)
    assert re.search(r"fast\s*[0-9.]+", hover) and re.search(r"slow\s*[0-9.]+", hover), hover
    page.select_option("[data-chart-x]", "time")
    page.wait_for_function(
        "() => document.querySelector('.metric-chart[data-series=loss] .g-xtitle')"
        "?.textContent === 'seconds since start'"
    )
    page.locator("[data-chart-smooth]").fill("0.6")
    page.wait_for_function(
        "() => document.querySelectorAll("
        "'.metric-chart[data-series=loss] g.trace.scatter').length === 4"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pipeline-metrics.png"), full_page=True)


def test_a_run_page_plots_its_metrics_with_axes(page: Any, panel: LiveServer) -> None:
    run = trained(panel, params={"lr": 0.1}, rate=1.0, result={"best": 0.9})
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"/runs/{run.id}")
    loss = plotted(page, "loss")
    assert loss.locator("g.trace.scatter").count() == 1
    assert loss.locator("g.xtick").count() >= 3 and loss.locator("g.ytick").count() >= 3
    assert page.locator('[data-series="epoch"]').count() == 0
    assert page.locator('.chart-value[data-series="eval/score"]').inner_text().endswith("0.75")
    hover_over(loss)
    assert any("/static/vendor/plotly.min.js" in url for url in asked)
    elsewhere = [u for u in asked if not u.startswith((panel.url, "data:", "blob:"))]
    assert not elsewhere, elsewhere  # the panel serves plotly.js: nothing from a CDN
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-metrics.png"), full_page=True)


def test_compare_two_runs(page: Any, panel: LiveServer) -> None:
    a = trained(panel, params={"lr": 0.1, "epochs": 8, "model": "small"}, rate=2.0,
                result={"best": 0.9})  # fmt: skip
    b = trained(panel, params={"lr": 0.01, "epochs": 8, "model": "small", "seed": 3},
                rate=1.0, result={"best": 0.7})  # fmt: skip
    page.goto("/runs")
    page.check(f'input[name=ids][value="{a.id}"]')
    page.check(f'input[name=ids][value="{b.id}"]')
    page.click("#compare-selected")
    page.wait_for_url("**/runs/compare?*")

    differing = page.locator("#compare-params tr.differs").evaluate_all(
        "rows => rows.map(r => r.dataset.param)"
    )
    assert sorted(differing) == ["lr", "seed"]
    same = page.locator('#compare-params tr[data-param="epochs"]')
    assert "differs" not in (same.get_attribute("class") or "")
    lr_cells = page.locator('#compare-params tr[data-param="lr"] td').all_inner_texts()
    assert sorted(lr_cells) == ["0.01", "0.1"]

    loss = plotted(page, "loss")
    assert loss.locator("g.trace.scatter").count() == 2  # overlaid on one chart
    assert sorted(loss.locator(".legendtext").all_text_contents()) == sorted([a.id[-8:], b.id[-8:]])
    assert page.locator('[data-series="epoch"]').count() == 0

    results = page.locator("#compare-results .compare-result")
    assert results.count() == 2
    texts = " ".join(results.all_inner_texts())
    assert '"best": 0.9' in texts and '"best": 0.7' in texts
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare-runs.png"), full_page=True)
