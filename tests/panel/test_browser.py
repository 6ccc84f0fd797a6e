"""The panel in a real browser (Debian's chromium through Playwright): log in, fill an
action's form, watch the run live, cancel a long run. Skipped when chromium or
playwright is missing, except under CI=true."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hoist.plugins.context import RuntimeContext
from hoist.runs.models import (
    EventBase,
    LogEvent,
    Run,
    RunKind,
    RunStatus,
    StatusEvent,
    new_run_id,
)
from tests.conftest import REPO
from tests.panel.browsing import browser, logged_in, wait_badge  # noqa: F401 (a fixture)
from tests.server.conftest import LiveServer

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def page(browser: Any, panel: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A page logged in to the panel as an operator (no JavaScript errors allowed)."""
    with logged_in(browser, panel, "operator", "/plugins") as (page, _):
        yield page


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
    wait_badge(page, "succeeded")
    page.wait_for_function(
        "() => document.querySelector('#part-progress [data-bar=overall] progress').value === 100"
    )
    result = page.locator("#run-result")
    result.wait_for()
    assert '"counted": 40' in result.inner_text()
    assert "browser-run" in page.locator("#part-messages").inner_text()
    page.wait_for_selector('.metric-chart[data-series="square"] g.trace path.js-line')
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
    wait_badge(page, "cancelled")
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
    wait_badge(page, "succeeded")
    assert len(failed) == 2
    page.wait_for_function(
        "() => document.querySelector('#part-progress [data-bar=overall] progress').value === 100"
    )


def test_a_service_run_shows_its_outputs_as_they_arrive(page: Any, panel: LiveServer) -> None:
    service = {"name": "calc", "path": "/calc", "summary": "Calculate", "version": "1.0",
               "author": "ada", "entry_point": "my_service.calc:execute"}  # fmt: skip
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, plugin="calc", action="Calculate",
              mode="service", params={"tasks": 2}, meta={"service": service})  # fmt: skip
    sink = panel.state.sink  # what an in-process service pool writes through
    sink.open_run(run)
    ctx = RuntimeContext(run.id, sink)
    ctx.emit_status(RunStatus.RUNNING)
    sink.flush()
    csp: list[str] = []
    page.on(
        "console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None
    )
    page.goto(f"/runs/{run.id}")
    page.wait_for_selector("#no-outputs")
    assert "my_service.calc:execute" in page.locator("#part-header").inner_text()

    ctx.emit_output("markdown", "Hello **bold** and `code`", "Markdown")
    sink.flush()
    strong = page.wait_for_selector("#outputs li.fmt-markdown strong")  # rendered, live
    assert strong.inner_text() == "bold"
    assert page.locator("#no-outputs").is_hidden()
    ctx.emit_output(
        "html",
        "<p title='kept'>kept</p><script>window.pwned = 1</script>"
        '<img src=x onerror="window.pwned = 2"><a href="javascript:window.pwned = 3">a</a>',
        "HTML",
    )
    ctx.emit_output("text", "<b>plain</b>", "Text")
    ctx.emit_output("json", {"tool": "search", "q": "<i>x</i>"}, None, "action")
    sink.flush()
    page.wait_for_selector("#outputs li.role-action")
    assert page.locator("#outputs li.fmt-html p[title=kept]").inner_text() == "kept"
    assert (
        page.locator("#outputs script, #outputs [onerror], #outputs [href^=javascript]").count()
        == 0
    )
    assert page.locator("#outputs li.fmt-text pre").inner_text() == "<b>plain</b>"
    assert page.locator("#outputs li.fmt-text b").count() == 0
    assert page.locator("#outputs li.role-action .out-role").inner_text().lower() == "action"

    for i in range(400):  # a burst: the page keeps the newest and offers the rest
        ctx.emit_output("markdown", f"step **{i}**", "Markdown")
    sink.flush()
    page.wait_for_function(
        "() => document.querySelector('#outputs li:last-child strong')?.textContent === '399'"
    )
    shown = page.locator("#outputs li").count()
    assert shown <= 300
    page.click("#outputs-earlier")
    page.wait_for_function("n => document.querySelectorAll('#outputs li').length === n + 50",
                           arg=shown)  # fmt: skip
    seqs = page.eval_on_selector_all("#outputs li", "lis => lis.map(li => +li.dataset.seq)")
    assert seqs == sorted(set(seqs))  # no duplicates, in order

    ctx.emit_result({"total": 6, "parts": [1, 5]}, model="my_service.models.Sum")
    ctx.emit_status(RunStatus.SUCCEEDED)
    sink.flush()
    wait_badge(page, "succeeded")
    result = page.locator("#run-result")
    result.wait_for()
    assert '"total": 6' in result.inner_text() and '\n  "parts": [' in result.inner_text()
    assert page.locator("#run-result-model").inner_text() == "my_service.models.Sum"
    assert page.evaluate("window.pwned") is None  # no script or handler ever ran
    page.reload()
    page.wait_for_selector("#outputs li:last-child strong")
    assert page.locator("#outputs li").count() == 50
    assert page.locator("#outputs script, #outputs [onerror]").count() == 0
    assert page.evaluate("window.pwned") is None
    assert not csp, csp  # nothing had to be blocked either: the HTML was clean
    page.screenshot(path=str(ARTIFACTS / "service-run-page.png"), full_page=True)
