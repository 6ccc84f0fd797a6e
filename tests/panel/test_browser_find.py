"""Finding runs in a real browser (Debian's chromium through Playwright): the runs list
searched by plugin, action, status, time and params (filtered by the store, on the
server), and a run's log filtered by type and level with its progress events folded
away by default. Screenshots kept under test-artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import (
    EventBase,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    Run,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from tests.conftest import REPO
from tests.panel.browsing import browser, logged_in  # noqa: F401 (a fixture)
from tests.server.conftest import LiveServer

ARTIFACTS = REPO / "test-artifacts"
DAY = 86_400.0


@pytest.fixture
def page(browser: Any, panel: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A page logged in to the panel as a viewer (no JavaScript errors allowed)."""
    with logged_in(browser, panel, "viewer", "/runs") as (page, _):
        yield page


def stored(panel: LiveServer, plugin: str, action: str, params: dict[str, Any],
           status: RunStatus, created: float) -> Run:  # fmt: skip
    """A run written straight to the server's store, ended with ``status``."""
    run = Run(id=new_run_id(), plugin=plugin, action=action, params=params, created_at=created)
    panel.state.store.write_batch([run], [
        StatusEvent(run_id=run.id, seq=1, ts=created, status=RunStatus.RUNNING),
        StatusEvent(run_id=run.id, seq=2, ts=created + 1, status=status),
    ])  # fmt: skip
    return run


def shown(page: Any) -> set[str]:
    """Ids of the runs the list shows."""
    ids = page.locator("#runs tbody tr[data-run-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.runId)"
    )
    return set(ids)


def test_find_runs_by_plugin_action_status_time_and_params(page: Any, panel: LiveServer) -> None:
    now = time.time()
    ok = RunStatus.SUCCEEDED
    a = stored(panel, "vision", "train", {"lr": 0.1, "model": "small"}, ok, now - 3 * DAY)
    b = stored(panel, "vision", "train", {"lr": 0.01, "model": "small"}, RunStatus.FAILED, now)
    c = stored(panel, "vision", "evaluate", {"lr": 0.1}, ok, now - 60)
    d = stored(panel, "audio", "train", {"lr": 0.1, "model": "large"}, ok, now - 30)

    page.goto("/runs")
    assert {a.id, b.id, c.id, d.id} <= shown(page)

    page.fill("#f-plugin", "vision")
    page.click("#find button[type=submit]")
    page.wait_for_url("**/runs?*plugin=vision*")
    assert shown(page) == {a.id, b.id, c.id}

    page.fill("#f-action", "train")
    page.click("#find button[type=submit]")
    page.wait_for_url("**action=train*")
    assert shown(page) == {a.id, b.id}

    page.fill("#f-param", "lr=0.1 model=small")  # typed: 0.1 is a number here
    page.click("#find button[type=submit]")
    page.wait_for_url("**param=*")
    assert shown(page) == {a.id}
    assert page.input_value("#f-param") == "lr=0.1 model=small"  # the search is kept

    page.goto("/runs?plugin=vision&status=failed")
    assert shown(page) == {b.id}
    assert page.input_value("#f-status") == "failed"

    since = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(now - DAY))
    page.goto("/runs")
    page.fill("#f-plugin", "vision")
    page.fill("#f-since", since)
    page.click("#find button[type=submit]")
    page.wait_for_url("**since=*")
    assert shown(page) == {b.id, c.id}  # a is three days old
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "runs-find.png"), full_page=True)

    page.goto("/runs?param=nokey%3D1")
    assert shown(page) == set()
    assert "No runs match" in page.locator("#runs tbody").inner_text()
    page.goto("/runs?since=yesterday")  # refused with a reason, not a crash
    assert "Not a date or time" in page.content()


def test_filter_the_log_progress_folded_by_default(page: Any, panel: LiveServer) -> None:
    now = time.time()
    run = Run(id=new_run_id(), plugin="paneltest", action="count", created_at=now)
    events: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]
    for i in range(1, 31):
        events.append(ProgressEvent(run_id=run.id, seq=len(events) + 1, ts=now, current=i,
                                    total=30))  # fmt: skip
        if i % 10 == 0:
            events.append(LogEvent(run_id=run.id, seq=len(events) + 1, ts=now,
                                   message=f"checkpoint {i}", level="INFO"))  # fmt: skip
            events.append(MetricsEvent(run_id=run.id, seq=len(events) + 1, ts=now,
                                       values={"loss": 1 / i}))  # fmt: skip
    events.append(LogEvent(run_id=run.id, seq=len(events) + 1, ts=now, message="disk low",
                           level="WARNING"))  # fmt: skip
    events.append(LogEvent(run_id=run.id, seq=len(events) + 1, ts=now, message="a trace",
                           level="DEBUG"))  # fmt: skip
    events.append(StatusEvent(run_id=run.id, seq=len(events) + 1, ts=now + 1,
                              status=RunStatus.SUCCEEDED))  # fmt: skip
    panel.state.store.write_batch([run], events)

    page.goto(f"/runs/{run.id}")
    log = page.locator("#log-lines")
    progress = log.locator("li.ev-progress")
    assert progress.count() == 30
    page.wait_for_selector("#log-filter")
    assert all(not p.is_visible() for p in progress.all())  # folded away by default
    assert "30 folded" in page.locator("[data-log-progress-count]").inner_text()
    visible = log.locator("li:visible")
    assert visible.count() == len(events) - 30

    page.check("[data-log-progress]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#log-lines li.ev-progress')]"
        ".every(li => li.offsetParent)"
    )
    page.uncheck("[data-log-progress]")

    page.select_option("[data-log-type]", "log")
    texts = log.locator("li:visible .text").all_inner_texts()
    assert len(texts) == 5 and "disk low" in " ".join(texts)
    page.select_option("[data-log-level]", "warning")
    texts = log.locator("li:visible .text").all_inner_texts()
    assert len(texts) == 1 and "disk low" in texts[0]
    page.select_option("[data-log-type]", "")
    page.select_option("[data-log-level]", "info")
    assert log.locator("li.ev-log.lvl-debug").is_hidden()
    assert log.locator("li.ev-metrics").first.is_visible()
    page.select_option("[data-log-type]", "progress")  # asking for progress shows it
    assert log.locator("li:visible").count() == 30
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "log-filter.png"), full_page=True)
