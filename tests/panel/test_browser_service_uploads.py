"""A file uploaded from a registered service's launch form on the panel, in a real browser
(Debian's chromium through Playwright): ``examples/files_service`` under ``hoist service
run``, the form posted as ``multipart/form-data`` through the server, the run's page
listing the file under ``in/``. Skipped when chromium or playwright is missing, except
under CI=true."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from tests.panel.browsing import browser, logged_in  # noqa: F401 (a fixture)
from tests.server.conftest import LiveServer, serve, server_settings
from tests.server.live_services import SECRET
from tests.server.test_service_uploads import files_service, registered
from tests.services.conftest import ended


@pytest.fixture
def live(hoist_home: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A server with the files service registered: the server and the service's id."""
    settings = server_settings(hoist_home, service_secret=SECRET)
    with (
        files_service(hoist_home, tmp_path / "service.log") as base,
        serve(settings, keepalive=0.5) as server,
    ):
        yield server, registered(server, base)


@pytest.fixture
def page(browser: Any, live: tuple[LiveServer, str]) -> Iterator[Any]:  # noqa: F811
    """A page logged in as an operator (no JavaScript errors allowed)."""
    with logged_in(browser, live[0], "operator", "/services") as (page, _):
        yield page


def test_a_file_uploaded_from_the_launch_form_lands_in_the_run(
    page: Any, live: tuple[LiveServer, str], runtime: Runtime, tmp_path: Path
) -> None:
    _, service_id = live
    page.goto(f"/services/{service_id}/enter?path=/")
    page.wait_for_selector("form.hoist-form #field-texts")
    assert page.get_attribute("form.hoist-form", "enctype") == "multipart/form-data"
    page.set_input_files(
        "#field-texts",
        files=[{"name": "my notes.txt", "mimeType": "text/plain", "buffer": b"one two two"}],
    )
    page.fill("#field-top", "3")
    page.click("form.hoist-form button[type=submit]")
    page.wait_for_url("**/runs/*")
    run_id = page.url.rsplit("/runs/", 1)[1].split("?")[0]
    run = ended(runtime, run_id, timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.params["texts"] == ["in/my notes.txt"]
    assert "**my notes.txt**: 3 words" in str(run.result)
    page.reload()
    listed = page.locator("#files-in")
    listed.wait_for()
    assert "my notes.txt" in listed.inner_text()
    assert "report.md" in page.locator("#files-out").inner_text()
