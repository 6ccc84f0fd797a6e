"""The Services page and a run awaiting a person, in a real browser (Debian's chromium
through Playwright). Skipped when chromium or playwright is missing, except under
CI=true."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import LockEvent, StatusEvent
from hoist.runs.models import RunStatus as S
from hoist.runs.runtime import Runtime
from tests.panel.browsing import browser, logged_in  # noqa: F401 (a fixture)
from tests.panel.test_locks_page import _awaiting_run
from tests.server.conftest import LiveServer
from tests.server.live_services import greeter, refused_url, running, status_of


@pytest.fixture
def page(browser: Any, panel: LiveServer) -> Iterator[Any]:  # noqa: F811
    """A page logged in to the panel as an operator (no JavaScript errors allowed)."""
    with logged_in(browser, panel, "operator", "/services") as (page, _):
        yield page


def test_the_services_page_lists_a_service_and_an_unreachable_one(
    page: Any, panel: LiveServer, runtime: Runtime
) -> None:
    with running(greeter(runtime, secret=None)) as base:
        ok = panel.state.services.add(f"{base}/openapi.json")
        page.fill("#service-url", refused_url())
        page.click("#add-service button[type=submit]")
        page.wait_for_url("**/services#service-*")
        down_id = page.url.split("#service-")[1]
        token = panel.token("viewer")
        status_of(panel, token, ok.id, "ok")
        status_of(panel, token, down_id, "unreachable")
        page.goto("/services")
        card = page.locator(f"#service-{ok.id}")
        assert card.locator(".service-status").inner_text() == "ok"
        assert "dev@example.org" in card.inner_text()
        down = page.locator(f"#service-{down_id}")
        assert down.locator(".service-status").inner_text() == "unreachable"
        assert "cannot connect" in down.locator(".service-error").inner_text()
        card.locator("a.action-link", has_text="Greet").first.click()
        page.wait_for_selector("form.hoist-form #field-name")


def test_a_lock_is_answered_on_the_run_page_and_the_page_follows(
    page: Any, panel: LiveServer
) -> None:
    run = _awaiting_run(panel)
    page.goto(f"/runs/{run.id}")
    assert page.locator("#part-header [data-status-badge]").inner_text() == "awaiting"
    page.wait_for_selector("#part-locks form.hoist-form #field-title")
    assert page.locator("#part-locks script").count() == 0
    page.fill("#field-title", "a title")
    page.fill("#field-copies", "1.5")  # not a whole number: refused next to its field
    page.eval_on_selector("#part-locks form", "f => { f.noValidate = true; }")  # the server's check
    page.click("#part-locks button[type=submit]")
    page.wait_for_selector('#part-locks [data-field="copies"] ul.errors')
    assert page.input_value("#field-title") == "a title"  # what was typed is kept
    page.fill("#field-copies", "3")
    # The run resumes (answered elsewhere): the page replaces the form with the history.
    now = time.time()
    panel.state.store.write_batch([], [
        LockEvent(run_id=run.id, seq=4, ts=now, lock_id="lk1", name="review",
                  phase="answered", answer={"title": "t"}, user="someone"),
        StatusEvent(run_id=run.id, seq=5, ts=now, status=S.RUNNING),
    ])  # fmt: skip
    page.wait_for_function(
        "() => document.querySelector('#part-header [data-status-badge]')?.textContent"
        " === 'running'"
    )
    page.wait_for_selector("#lock-history .lock-user")
    assert page.locator("#part-locks form").count() == 0
    assert page.locator("#lock-history").inner_text().count("answered") == 1
