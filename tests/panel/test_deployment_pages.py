"""The Deployments pages: a plugin action and a code folder deployed with the ``local``
strategy in the live server's own manager, listed, shown, invoked, stopped and rolled
back through the panel (logged-in httpx clients, and Debian's chromium through
Playwright; the browser tests are skipped when chromium or playwright is missing,
except under CI=true)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.deployment.manager import DeploymentManager
from hoist.deployment.models import DeployConfig
from hoist.deployment.records import DeploymentRecord
from hoist.errors import DeploymentError
from hoist.server.panel.deployment_forms import JSON_FIELD, invoke_form
from tests.conftest import write_files
from tests.panel.browsing import browser, logged_in  # noqa: F401 (a fixture)
from tests.panel.conftest import Login
from tests.server.conftest import LiveServer

PREDICT = """
def predict(inputs):
    if inputs.get("fail"):
        raise RuntimeError("asked to fail")
    return {"echo": inputs}
"""


def manager_of(server: LiveServer) -> DeploymentManager:
    """The live server's own deployment manager (the one its pages and API use)."""
    manager: DeploymentManager = server.state.deployments
    return manager


@pytest.fixture
def counter(panel: LiveServer, tmp_path: Path) -> Iterator[DeploymentRecord]:
    """The ``paneltest`` plugin's ``count`` action (``steps``: an int, 1..100000)
    deployed as ``counter`` with the ``local`` strategy, in the server's process."""
    manager = manager_of(panel)
    config = DeployConfig(action="count")
    record = manager.deploy(tmp_path / "plugins" / "paneltest", "local", "counter", config)
    try:
        yield record
    finally:
        with contextlib.suppress(Exception):
            manager.stop("counter")


@pytest.fixture
def echo(panel: LiveServer, tmp_path: Path) -> Iterator[DeploymentRecord]:
    """A code folder with a ``predict`` callable (no input schema) deployed as ``echo``."""
    code = write_files(tmp_path / "echo", {"main.py": PREDICT})
    manager = manager_of(panel)
    record = manager.deploy(code, "local", "echo")
    try:
        yield record
    finally:
        with contextlib.suppress(Exception):
            manager.stop("echo")


# ---------------------------------------------------------------------- over HTTP
def _listed_status(http: Any) -> str:
    """The status badge the list shows for ``counter``."""
    found = re.search(
        r'data-deployment="counter" data-status="([a-z]+)"', http.get("/deployments").text
    )
    assert found
    return found.group(1)


def test_the_list_shows_each_deployment(login: Login, counter: DeploymentRecord) -> None:
    http, _ = login("viewer")
    page = http.get("/deployments")
    assert page.status_code == 200
    row = re.search(r'<tr data-deployment="counter".*?</tr>', page.text, re.S)
    assert row, page.text
    assert "v1" in row.group(0) and "<code>local</code>" in row.group(0)
    assert "data-status-badge>running</span>" in row.group(0)
    assert "healthy" in row.group(0)
    shown = f'<code class="endpoint-url">{counter.endpoint}</code>' if counter.endpoint else "none"
    assert shown in row.group(0)
    assert 'href="/deployments"' in page.text and 'aria-current="page"' in page.text


def test_the_list_says_when_there_are_none(login: Login) -> None:
    http, _ = login("viewer")
    page = http.get("/deployments")
    assert page.status_code == 200 and 'id="no-deployments"' in page.text


def test_an_operator_sees_the_detail_logs_form_and_controls(
    login: Login, counter: DeploymentRecord
) -> None:
    http, _ = login("operator")
    page = http.get("/deployments/counter")
    assert page.status_code == 200
    html = page.text
    assert 'id="deployment-health">healthy<' in html
    assert f'href="/runs/{counter.run_id}"' in html  # the version's deploy run
    assert 'id="field-steps"' in html and 'min="1"' in html  # generated from the schema
    assert 'id="stop"' in html
    assert 'id="deployment-logs"' in html or 'id="logs-empty"' in html
    assert 'id="logs-hidden"' not in html


def test_a_viewer_sees_no_logs_and_cannot_act(login: Login, counter: DeploymentRecord) -> None:
    http, csrf = login("viewer")
    html = http.get("/deployments/counter").text
    assert 'id="logs-hidden"' in html and 'id="deployment-logs"' not in html
    assert 'id="stop"' not in html and 'id="rollback"' not in html
    assert '<fieldset disabled class="readonly">' in html
    for action in ("invoke", "stop", "rollback"):
        answer = http.post(f"/deployments/counter/{action}", data={"csrf_token": csrf})
        assert answer.status_code == 403, action
        assert "operator role" in answer.text
    assert _listed_status(http) == "running"


def test_unknown_names_are_404(login: Login) -> None:
    http, csrf = login("operator")
    assert http.get("/deployments/nothing-here").status_code == 404
    assert http.get("/deployments/bad%20name").status_code == 404
    for action in ("invoke", "stop", "rollback"):
        answer = http.post(f"/deployments/nothing-here/{action}", data={"csrf_token": csrf})
        assert answer.status_code == 404, action


def test_a_post_without_the_csrf_token_is_refused(login: Login, counter: DeploymentRecord) -> None:
    http, _ = login("operator")
    assert http.post("/deployments/counter/stop", data={}).status_code == 403
    assert http.post("/deployments/counter/stop", data={"csrf_token": "x"}).status_code == 403
    assert _listed_status(http) == "running"


def test_invoking_checks_the_inputs_then_shows_the_output(
    login: Login, counter: DeploymentRecord
) -> None:
    http, csrf = login("operator")
    form = {"csrf_token": csrf, "steps": "0", "delay": "0", "label": "kept"}
    bad = http.post("/deployments/counter/invoke", data=form)
    assert bad.status_code == 422
    assert re.search(r'data-field="steps".*?<ul class="errors"', bad.text, re.S)
    assert 'value="kept"' in bad.text and 'id="invoke-result"' not in bad.text
    good = http.post("/deployments/counter/invoke", data={**form, "steps": "3", "label": "pears"})
    assert good.status_code == 200, good.text
    output = re.search(r'<pre id="invoke-output">(.*?)</pre>', good.text, re.S)
    assert output and "&#34;counted&#34;: 3" in output.group(1)
    assert "pears" in output.group(1)


def test_the_json_form_without_a_schema(login: Login, echo: DeploymentRecord) -> None:
    http, csrf = login("operator")
    html = http.get("/deployments/echo").text
    assert 'name="inputs"' in html and "as a JSON object" in html
    broken = http.post("/deployments/echo/invoke", data={"csrf_token": csrf, "inputs": "{nope"})
    assert broken.status_code == 422 and "must be valid JSON" in broken.text
    listed = http.post("/deployments/echo/invoke", data={"csrf_token": csrf, "inputs": "[1]"})
    assert listed.status_code == 422 and "must be a JSON object" in listed.text
    good = http.post("/deployments/echo/invoke",
                     data={"csrf_token": csrf, "inputs": '{"x": "<b>1</b>"}'})  # fmt: skip
    assert good.status_code == 200
    assert "&lt;b&gt;1&lt;/b&gt;" in good.text and "<b>1</b>" not in good.text  # escaped
    failed = http.post("/deployments/echo/invoke",
                       data={"csrf_token": csrf, "inputs": '{"fail": true}'})  # fmt: skip
    assert failed.status_code == 502
    assert re.search(r'id="invoke-error"><strong>RuntimeError</strong>: .*asked to fail',
                     failed.text)  # fmt: skip


def test_stop_then_invoke_and_rollback(login: Login, echo: DeploymentRecord) -> None:
    http, csrf = login("operator")
    nothing = http.post("/deployments/echo/rollback", data={"csrf_token": csrf})
    assert nothing.status_code == 400 and "no earlier version" in nothing.text
    words = http.post("/deployments/echo/rollback", data={"csrf_token": csrf, "version": "x"})
    assert words.status_code == 400 and "whole number" in words.text
    stopped = http.post("/deployments/echo/stop", data={"csrf_token": csrf})
    assert stopped.status_code == 303 and stopped.headers["location"] == "/deployments/echo"
    page = http.get("/deployments/echo").text
    assert "data-status-badge>stopped</span>" in page and 'id="stop"' not in page
    late = http.post("/deployments/echo/invoke", data={"csrf_token": csrf, "inputs": "{}"})
    assert late.status_code == 409 and "is not running" in late.text


# ---------------------------------------------------------------------- in a browser
def _no_overflow(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"


def test_a_deployment_in_the_browser(
    browser: Any,  # noqa: F811
    panel: LiveServer,
    counter: DeploymentRecord,
) -> None:
    with logged_in(browser, panel, "operator", "/deployments") as (page, _):
        row = page.locator('tr[data-deployment="counter"]')
        assert row.locator("[data-status-badge]").inner_text() == "running"
        row.locator("a", has_text="counter").click()
        page.wait_for_url("**/deployments/counter")
        assert page.locator("#deployment-health").inner_text() == "healthy"
        page.fill("#field-steps", "0")
        page.eval_on_selector("#invoke form", "f => { f.noValidate = true; }")  # the server's
        page.click("#invoke button[type=submit]")
        page.wait_for_selector('#invoke [data-field="steps"] ul.errors')
        assert page.input_value("#field-steps") == "0"  # what was typed is kept
        page.fill("#field-steps", "4")
        page.fill("#field-delay", "0")
        page.click("#invoke button[type=submit]")
        page.wait_for_selector("#invoke-output")
        assert '"counted": 4' in page.locator("#invoke-output").inner_text()
        page.set_viewport_size({"width": 390, "height": 844})
        _no_overflow(page)
        page.goto("/deployments")
        _no_overflow(page)
        page.goto("/deployments/counter")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#stop")
        page.wait_for_selector("#deployment-status [data-status-badge]:text('stopped')")
        assert page.locator("#stop").count() == 0


def test_a_viewer_in_the_browser(
    browser: Any,  # noqa: F811
    panel: LiveServer,
    counter: DeploymentRecord,
) -> None:
    with logged_in(browser, panel, "viewer", "/deployments/counter") as (page, _):
        assert page.locator("#logs-hidden").is_visible()
        assert page.locator("#deployment-logs").count() == 0
        assert page.locator("#stop").count() == 0
        assert page.locator("#invoke fieldset.readonly button[type=submit]").is_disabled()


def test_rollback_to_a_chosen_version(login: Login, panel: LiveServer, tmp_path: Path) -> None:
    code = write_files(tmp_path / "two", {"main.py": "def predict(inputs):\n    return 'one'\n"})
    manager = manager_of(panel)
    manager.deploy(code, "local", "two")
    (code / "main.py").write_text("def predict(inputs):\n    return 'two'\n")
    manager.deploy(code, "local", "two")
    try:
        http, csrf = login("operator")
        page = http.get("/deployments/two").text
        assert '<option value="1">v1</option>' in page  # the version that ran before
        back = http.post("/deployments/two/rollback", data={"csrf_token": csrf, "version": "1"})
        assert back.status_code == 303
        page = http.get("/deployments/two").text
        assert '<small class="muted">v1</small>' in page
        assert re.search(r'data-version="2" data-status="replaced"', page)
        answer = http.post("/deployments/two/invoke", data={"csrf_token": csrf, "inputs": "{}"})
        assert answer.status_code == 200 and "&#34;one&#34;" in answer.text
        gone = http.post("/deployments/two/rollback", data={"csrf_token": csrf, "version": "9"})
        assert gone.status_code == 404 and "two v9" in gone.text
    finally:
        manager.stop("two")


@pytest.mark.parametrize(
    ("schema", "generated", "note"),
    [
        (None, False, False),
        ({"type": "object"}, False, False),
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, True, False),
        ({"type": "object", "properties": {"n": 3}}, False, True),
        ({"type": "object", "properties": {"c": {"enum": []}}}, False, True),
    ],
)
def test_the_invoke_form_falls_back_to_json(
    schema: dict[str, Any] | None, generated: bool, note: bool
) -> None:
    found = invoke_form(schema)
    assert found.generated is generated and (found.note is not None) is note
    names = [f.name for f in found.form.fields()]
    assert names == (["n"] if generated else [JSON_FIELD])


def test_a_failed_deploy_shows_its_error(login: Login, panel: LiveServer, tmp_path: Path) -> None:
    code = write_files(tmp_path / "broken", {"main.py": "def elsewhere(inputs):\n    return 1\n"})
    with pytest.raises(DeploymentError):
        manager_of(panel).deploy(code, "local", "broken")
    http, _ = login("operator")
    page = http.get("/deployments/broken")
    assert page.status_code == 200
    assert "data-status-badge>failed</span>" in page.text
    assert re.search(r'<dd class="deployment-error">[^<]*predict', page.text), page.text
    assert 'id="stop"' not in page.text and 'id="rollback"' not in page.text
    logs = re.search(r'<pre id="deployment-logs" class="logs-tail">(.*?)</pre>', page.text, re.S)
    assert logs and "predict" in logs.group(1)  # its log file says why
