"""The panel in a real browser: Debian's chromium driven by Playwright (never a
downloaded browser), a page logged in as a fresh account, and waiting on what a page
shows. Shared by the panel's and the end-to-end browser tests."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need
from tests.panel.conftest import PASSWORD, add_user
from tests.server.conftest import LiveServer

__all__ = ["CHROMIUM", "TIMEOUT_MS", "browser", "logged_in", "wait_badge"]

CHROMIUM = Path("/usr/bin/chromium")
# Generous: two test workers share two cores with Ray and servers; a wait ends as soon
# as its condition holds.
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module (never downloaded: Debian's own)."""
    if importlib.util.find_spec("playwright") is None:
        need("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        need(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def logged_in(
    browser: Any, server: LiveServer, role: str = "operator", start: str = "/plugins"
) -> Iterator[tuple[Any, str]]:
    """A page of a fresh browser context (no cookies) that asked for ``start``, was sent
    to the login form, and logged in there as a new account with ``role``; and the
    account's username. Fails the test if any JavaScript error happened on the page."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    username = add_user(server, role)
    page.goto(start)
    assert f"/login?next={start}" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{start}")
    try:
        yield page, username
        assert not errors, f"JavaScript errors: {errors}"
    finally:
        context.close()


def wait_badge(page: Any, status: str) -> None:
    """Wait until the run page's header badge says ``status``."""
    page.wait_for_function(
        "s => document.querySelector('#part-header [data-status-badge]')?.textContent === s",
        arg=status,
    )
