"""Human in the loop, end to end, in a real browser (Debian's chromium through
Playwright): ``examples/approve_service`` served by ``hoist service run`` with the shared
secret, registered at a live Hoist server on the same SQLite home; an operator launches
it from the Services page, answers its lock on the run's page (an empty edit refused by
the service's lease, next to the field; then an approval), a viewer watching the same
page sees the form disabled and the run resume live to ``succeeded``; the lock, gone,
is refused by the API. Skipped when chromium or playwright is missing, except under
CI=true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hoist.runs.models import LockEvent, RunStatus
from tests.e2e.conftest import SECRET, reached, service_process
from tests.panel.browsing import browser, logged_in, wait_badge  # noqa: F401 (a fixture)
from tests.server.conftest import serve, server_settings
from tests.server.live_services import status_of

DRAFT = "We are glad to announce a summer party. More soon."


def test_a_person_approves_a_draft_from_the_panel(
    browser: Any,  # noqa: F811
    hoist_home: Path,
    tmp_path: Path,
) -> None:
    with (
        service_process("approve_service.app:app", hoist_home, tmp_path / "svc.log") as svc,
        serve(server_settings(hoist_home, service_secret=SECRET), keepalive=0.5) as live,
    ):
        operator_token = live.token("operator")
        api = live.http(operator_token)
        created = api.post("/api/v1/services", json={"url": f"{svc.url}/openapi.json"})
        assert created.status_code == 201, created.text
        service_id = created.json()["id"]
        status_of(live, operator_token, service_id, "ok")

        with logged_in(browser, live, "operator", "/services") as (page, operator):
            page.goto("/services")
            card = page.locator(f"#service-{service_id}")
            card.locator("a.action-link", has_text="Approved announcement").click()
            page.fill("#field-topic", "a summer party")
            page.click("form.hoist-form button[type=submit]")
            page.wait_for_url("**/runs/*")
            run_id = page.url.rstrip("/").rsplit("/", 1)[1]
            # The 202 comes once the run is recorded: the page the panel redirects to
            # shows it at once, and turns awaiting live (no reload).
            assert "Not found" not in page.title()
            wait_badge(page, "awaiting")
            lock = page.locator("#part-locks .lock[data-lock-id]")
            lock_id = lock.get_attribute("data-lock-id")
            assert "Please review" in lock.inner_text() and DRAFT in lock.inner_text()
            assert page.input_value("#field-text") == DRAFT

            # An empty edit: the service's lease refuses it, next to the field.
            page.fill("#field-text", "   ")
            with page.expect_response(lambda r: r.request.method == "POST") as posted:
                page.click('#part-locks button[name="decision"][value="edit"]')
            assert posted.value.status == 422
            error = page.locator('#part-locks [data-field="text"] ul.errors')
            assert "An edit cannot be empty" in error.inner_text()
            assert live.state.store.get_run(run_id).status == RunStatus.AWAITING

            with logged_in(browser, live, "viewer", "/services") as (watcher, _):
                watcher.goto(f"/runs/{run_id}")
                wait_badge(watcher, "awaiting")
                assert watcher.locator("#part-locks fieldset[disabled]").count() == 1
                assert watcher.locator("#field-text").is_disabled()

                page.click('#part-locks button[name="decision"][value="approve"]')
                page.wait_for_url(f"**/runs/{run_id}")
                wait_badge(page, "succeeded")
                # The viewer's page followed without a reload: the form gave way.
                wait_badge(watcher, "succeeded")
                watcher.wait_for_selector("#lock-history .lock-user")
                assert watcher.locator("#part-locks form").count() == 0
                assert operator in watcher.locator("#lock-history").inner_text()
                watcher.locator("#run-result").wait_for()
                assert DRAFT in watcher.locator("#run-result").inner_text()

        run = reached(live.state.store, run_id)
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert DRAFT in str(run.result) and run.meta["user"] == operator
        locks = [e for e in live.state.store.events(run_id) if isinstance(e, LockEvent)]
        assert [e.phase for e in locks] == ["open", "answered"]
        assert locks[-1].user == operator and locks[-1].answer == {"decision": "approve",
                                                                   "text": DRAFT}  # fmt: skip
        # The lock is gone: the API refuses an answer to it.
        gone = api.post(f"/api/v1/runs/{run_id}/locks/{lock_id}", json={"values": {}})
        assert gone.status_code == 409, gone.text
