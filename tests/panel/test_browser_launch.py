"""Launch, Run again, Retry and the mode choice in a real browser (Debian's chromium
through Playwright), and the run page on a 390 px phone: the log keeps its time and type
columns, the result scrolls. Screenshots go to ``test-artifacts/launch/``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import RunKind, RunStatus
from tests.conftest import REPO
from tests.panel.browsing import browser, logged_in, wait_badge  # noqa: F401 (a fixture)
from tests.panel.conftest import wait_status
from tests.panel.launching import panel  # noqa: F401 (the fixture, with launchtest)
from tests.server.conftest import LiveServer

SHOTS = REPO / "test-artifacts" / "launch"


@pytest.fixture
def page(browser: Any, panel: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A page logged in to the panel as an operator (no JavaScript errors allowed)."""
    with logged_in(browser, panel, "operator", "/plugins") as (page, _):
        yield page


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _run_id(page: Any) -> str:
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f]{24}$"))
    return str(page.url.rsplit("/", 1)[-1])


def _ended(page: Any, status: str) -> None:
    """Wait until the run page shows ``status`` in its badge and in the header the
    server rendered (the live swap of the header is done: a click lands on its buttons)."""
    wait_badge(page, status)
    page.wait_for_selector(f'#part-header[data-status="{status}"]')


def _new_run(page: Any, old: str) -> str:
    page.wait_for_url(lambda url: re.search(r"/runs/[0-9a-f]{24}$", url) and old not in url)
    return _run_id(page)


def test_launch_a_pipeline_from_its_form_then_run_it_again(
    page: Any,
    panel: LiveServer,  # noqa: F811
) -> None:
    page.click('a[href="/plugins/launchtest/pipelines/flow"]')
    page.wait_for_selector("form.hoist-form")
    assert "greet → shout" in page.inner_text("#pipeline-steps")
    assert page.inner_text('[data-field="rate"] .bounds') == "> 0 · ≤ 10"
    page.fill("#field-name", "ada")
    page.fill("#field-times", "2")
    page.select_option("#field-_mode", "local")
    _shot(page, "pipeline-form")
    page.click("form.hoist-form button[type=submit]")
    first = _run_id(page)
    _ended(page, "succeeded")
    run = panel.state.store.get_run(first)
    assert run.kind == RunKind.PIPELINE and run.params["name"] == "ada"
    _shot(page, "pipeline-run")

    page.click("#rerun-run")  # one click, same params and mode
    second = _new_run(page, first)
    wait_badge(page, "succeeded")
    again = panel.state.store.get_run(second)
    assert again.kind == RunKind.PIPELINE and again.params == run.params
    assert again.mode == run.mode and again.meta["pipeline"] == "flow"


def test_run_again_with_edited_params(page: Any, panel: LiveServer) -> None:  # noqa: F811
    page.goto("/plugins/launchtest/actions/greet")
    page.fill("#field-name", "bob")
    page.fill("#field-times", "3")
    page.click("form.hoist-form button[type=submit]")
    first = _run_id(page)
    _ended(page, "succeeded")

    page.click("#rerun-edit")
    page.wait_for_selector("#rerun-note")
    assert first in page.inner_text("#rerun-note")
    assert page.input_value("#field-name") == "bob"  # prefilled from the run
    assert page.input_value("#field-times") == "3"
    assert page.input_value("#field-_mode") == "local"
    _shot(page, "rerun-edit-form")
    page.fill("#field-times", "1")
    page.click("form.hoist-form button[type=submit]")
    second = _new_run(page, first)
    wait_badge(page, "succeeded")
    new = panel.state.store.get_run(second)
    assert new.params == {**panel.state.store.get_run(first).params, "times": 1}
    assert new.result == {"greeting": "hello bob"}


def test_retry_a_failed_run(page: Any, panel: LiveServer) -> None:  # noqa: F811
    page.goto("/plugins/launchtest/actions/greet")
    page.fill("#field-name", "eve")
    page.check("#field-fail")
    page.click("form.hoist-form button[type=submit]")
    first = _run_id(page)
    _ended(page, "failed")
    page.wait_for_selector("#retry-run")  # the failed run's header offers Retry
    assert page.locator("#rerun-run").count() == 0
    assert "asked to fail for eve" in page.inner_text("#run-error")
    _shot(page, "failed-run-retry")
    page.click("#retry-run")
    second = _new_run(page, first)
    wait_badge(page, "failed")
    retried = wait_status(panel, second, RunStatus.FAILED)
    assert retried.params == panel.state.store.get_run(first).params


def test_a_mode_the_server_does_not_offer_is_refused(
    page: Any,
    panel: LiveServer,  # noqa: F811
) -> None:
    page.goto("/plugins/launchtest/actions/greet")
    options = page.eval_on_selector_all("#field-_mode option", "os => os.map(o => o.value)")
    assert options == ["", "local"]  # no Ray cluster configured: local only
    assert "HOIST_RAY_ADDRESS" in page.inner_text('[data-field="_mode"] .help')
    # A forged choice (the form offers no task mode) must be refused by the server.
    page.eval_on_selector(
        "#field-_mode",
        "s => { const o = document.createElement('option'); o.value = 'task';"
        " o.textContent = 'task'; s.append(o); s.value = 'task'; }",
    )
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("form.hoist-form button[type=submit]")
    assert posted.value.status == 422
    assert "does not offer 'task' mode" in page.inner_text('[data-field="_mode"] ul.errors')
    _shot(page, "mode-refused")
    assert not panel.state.store.list_runs()


def test_the_run_page_on_a_phone_keeps_log_columns_and_scrolls_the_result(
    page: Any,
    panel: LiveServer,  # noqa: F811
) -> None:
    page.goto("/plugins/launchtest/actions/wide")
    page.click("form.hoist-form button[type=submit]")
    _run_id(page)
    wait_badge(page, "succeeded")
    page.locator("#run-result").wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.documentElement.clientWidth === 390")
    boxes = page.eval_on_selector_all(
        "#log-lines li",
        """lis => lis.map(li => ['time', '.type', '.text'].map(sel => {
             const r = li.querySelector(sel).getBoundingClientRect();
             return [r.left, r.right, r.width, r.height];
           }))""",
    )
    assert boxes
    for time_box, type_box, text_box in boxes:
        assert time_box[2] > 0 and time_box[3] > 0, "the time is hidden"
        assert type_box[2] > 0 and type_box[3] > 0, "the type is hidden"
        assert time_box[1] <= 390 and type_box[1] <= 390 and text_box[1] <= 390  # on screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    texts = page.eval_on_selector_all("#log-lines li time", "ts => ts.map(t => t.textContent)")
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", t) for t in texts)
    # The wide, long result scrolls inside its panel instead of being cut off.
    result = page.eval_on_selector(
        "#run-result",
        """el => { const s = getComputedStyle(el); return {
             overflowX: s.overflowX, overflowY: s.overflowY,
             wider: el.scrollWidth > el.clientWidth, taller: el.scrollHeight > el.clientHeight,
             right: el.getBoundingClientRect().right}; }""",
    )
    assert result["overflowX"] == "auto" and result["overflowY"] == "auto"
    assert result["wider"] and result["taller"] and result["right"] <= 390
    page.eval_on_selector("#run-result", "el => { el.scrollTop = 200; el.scrollLeft = 300; }")
    assert page.eval_on_selector("#run-result", "el => el.scrollLeft > 0 && el.scrollTop > 0")
    _shot(page, "phone-run-page")
