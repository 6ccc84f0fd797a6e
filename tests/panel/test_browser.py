"""The panel in a real browser (Debian's chromium through Playwright): log in, fill an
action's form, watch the run live, cancel a long run. Skipped when chromium or
playwright is missing, except under CI=true."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.runs.models import EventBase, LogEvent, Run, RunStatus, StatusEvent, new_run_id
from tests.conftest import REPO, need
from tests.panel.conftest import PASSWORD, add_user
from tests.server.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module (never downloaded: Debian's own)."""
    if importlib.util.find_spec("playwright") is None:
        need("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        need(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any, panel: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) pointed at the panel, logged in as operator."""
    context = browser.new_context(base_url=panel.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    username = add_user(panel, "operator")
    page.goto("/plugins")
    assert "/login?next=/plugins" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/plugins")
    try:
        yield page
        assert not errors, f"JavaScript errors: {errors}"
    finally:
        context.close()


def _wait_status(page: Any, status: str) -> None:
    page.wait_for_function(
        "s => document.querySelector('#part-header [data-status-badge]')?.textContent === s",
        arg=status,
    )


def test_launch_from_the_form_and_watch_the_run(page: Any) -> None:
    page.click('a[href="/plugins/paneltest/actions/count"]')
    page.wait_for_selector("form.hoist-form")
    page.click('button[data-action="cancel"]')  # the form's Cancel goes back
    page.wait_for_url("**/plugins")
    page.click('a[href="/plugins/paneltest/actions/count"]')
    page.wait_for_selector("form.hoist-form")
    page.fill("#field-steps", "40")
    page.fill("#field-delay", "0.03")
    page.fill("#field-label", "two words")  # valid for the browser, not for the model
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("form.hoist-form button[type=submit]")
    assert posted.value.status == 422
    error = page.locator('[data-field="label"] ul.errors')
    assert "must not contain spaces" in error.inner_text()
    assert page.input_value("#field-steps") == "40"  # what was typed is kept

    page.fill("#field-label", "browser-run")
    page.click("form.hoist-form button[type=submit]")
    page.wait_for_url("**/runs/*")
    _wait_status(page, "succeeded")
    page.wait_for_function(
        "() => document.querySelector('#part-progress [data-bar=overall] progress').value === 100"
    )
    result = page.locator("#run-result")
    result.wait_for()
    assert '"counted": 40' in result.inner_text()
    assert "browser-run" in page.locator("#part-messages").inner_text()
    page.wait_for_selector('#charts figure[data-series="square"] polyline')
    seqs = page.eval_on_selector_all("#log-lines li", "lis => lis.map(li => +li.dataset.seq)")
    # status, message, 40 x (metrics, progress), result, status: each exactly once, in order
    assert seqs == list(range(1, 40 * 2 + 5))
    # Lines built live from SSE frames read exactly as the server renders them.
    texts = "lis => lis.map(li => [li.className, li.querySelector('.text').textContent])"
    live = page.eval_on_selector_all("#log-lines li", texts)
    page.reload()
    assert page.eval_on_selector_all("#log-lines li", texts) == live
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "run-page.png"), full_page=True)


def test_cancel_a_long_run_on_a_narrow_screen(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/plugins/paneltest/actions/count")
    page.fill("#field-steps", "100000")
    page.fill("#field-delay", "0.05")
    page.click("form.hoist-form button[type=submit]")
    page.wait_for_url("**/runs/*")
    page.wait_for_function(
        "() => Number(document.querySelector('#part-progress [data-bar=overall] progress')"
        ".getAttribute('value') || document.querySelector('#part-progress [data-bar=overall] "
        "progress').value) > 0"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing forces a sideways scroll
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-run")
    _wait_status(page, "cancelled")
    page.locator("#cancel-run").wait_for(state="detached")  # the header was re-rendered
    assert "cancelled" in page.locator("#part-header").inner_text()


def test_runs_list_updates_live(page: Any, panel: LiveServer) -> None:
    page.goto("/runs")
    page.wait_for_selector("#runs")
    run_id = panel.client("operator").launch(
        "paneltest", "count", params={"steps": 30, "delay": 0.03, "label": "listed"}
    )
    row = f'tr[data-run-id="{run_id}"]'
    page.wait_for_selector(row)  # inserted from the all-runs stream
    page.wait_for_function(
        "sel => document.querySelector(sel).getAttribute('data-status') === 'succeeded'", arg=row
    )
    page.wait_for_function(
        "sel => document.querySelector(sel + ' progress').value === 100", arg=row
    )


def test_load_earlier_events_of_a_long_log(page: Any, panel: LiveServer) -> None:
    now = time.time()
    run = Run(id=new_run_id(), plugin="paneltest", action="count", created_at=now)
    events: list[EventBase] = [StatusEvent(run_id=run.id, seq=1, ts=now, status=RunStatus.RUNNING)]
    events += [LogEvent(run_id=run.id, seq=i, ts=now, message=f"<b>line {i}</b>")
               for i in range(2, 10_001)]  # fmt: skip
    panel.state.store.write_batch([run], events)
    page.goto(f"/runs/{run.id}")
    assert page.locator("#log-lines li").count() == 200
    page.click("#load-earlier")
    page.wait_for_function("() => document.querySelectorAll('#log-lines li').length === 400")
    seqs = page.eval_on_selector_all("#log-lines li", "lis => lis.map(li => +li.dataset.seq)")
    assert seqs == list(range(9_601, 10_001))
    assert page.get_attribute("#load-earlier", "href") == f"/runs/{run.id}?before=9601"
    assert page.locator("#log-lines li b").count() == 0  # shown as text, never as HTML
    assert "<b>line 9601</b>" in page.locator("#log-lines li").first.inner_text()


def test_a_run_page_recovers_when_its_stream_fails(page: Any, panel: LiveServer) -> None:
    failed: list[str] = []

    def fail_twice(route: Any) -> None:
        if len(failed) < 2:  # a 503 makes EventSource give up: the page must reopen it
            failed.append(route.request.url)
            route.fulfill(status=503, body="unavailable")
        else:
            route.continue_()

    page.route("**/events/stream*", fail_twice)
    run_id = panel.client("operator").launch(
        "paneltest", "count", params={"steps": 40, "delay": 0.05, "label": "recovers"}
    )
    page.goto(f"/runs/{run_id}")
    _wait_status(page, "succeeded")
    assert len(failed) == 2
    page.wait_for_function(
        "() => document.querySelector('#part-progress [data-bar=overall] progress').value === 100"
    )
