"""A real uvicorn server with the panel mounted, a test plugin with a slow action, and
logged-in httpx clients."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hoist.runs.models import Run, RunStatus
from hoist.server.accounts import Role
from tests.conftest import write_files
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, serve, server_settings
from tests.waiting import wait_until

PASSWORD = "panel-password-1"

PLUGIN_CONFIG = """\
name: Panel Test
code: paneltest
version: 0.2.0
category: export
description: Actions for the **panel** tests
requirements: []
actions:
  count:
    entrypoint: plugin.actions:Count
    description: Count up slowly, with progress, metrics and a message
"""

PLUGIN_ACTIONS = """
import time
from pydantic import BaseModel, Field, field_validator
from hoist import BaseAction


class CountParams(BaseModel):
    steps: int = Field(5, ge=1, le=100_000, description="How many steps")
    delay: float = Field(0.02, ge=0, le=10, description="Seconds per step")
    label: str = Field("demo", max_length=50, description="A name for the run")

    @field_validator("label")
    @classmethod
    def _no_spaces(cls, value):
        if " " in value:
            raise ValueError("must not contain spaces")
        return value


class Count(BaseAction[CountParams]):
    def execute(self):
        self.log_message(f"counting for **{self.params.label}**")
        for i in range(self.params.steps):
            self.set_metrics({"square": i * i, "half": i / 2})
            self.set_progress(i + 1, self.params.steps)
            time.sleep(self.params.delay)
        return {"counted": self.params.steps, "label": self.params.label}
"""


def write_plugin(root: Path) -> Path:
    """The ``paneltest`` plugin under ``root``."""
    return write_files(root / "paneltest", {
        "config.yaml": PLUGIN_CONFIG, "plugin/__init__.py": "", "plugin/actions.py": PLUGIN_ACTIONS,
    })  # fmt: skip


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def panel(hoist_home: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server with the panel, serving the examples and the ``paneltest`` plugin."""
    plugins = tmp_path / "plugins"
    write_plugin(plugins)
    settings = server_settings(hoist_home)
    settings = settings.with_(plugin_paths=(*settings.plugin_paths, plugins))
    with serve(settings, keepalive=0.5) as live:  # create_app mounts the panel
        yield live


def add_user(server: LiveServer, role: str) -> str:
    """A new account with ``role`` and :data:`PASSWORD`; returns its username."""
    name = f"{role}-{len(server.state.users.list())}"
    server.state.users.create(name, PASSWORD, Role(role))
    return name


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms post back."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


Login = Callable[..., tuple[httpx.Client, str]]


@pytest.fixture
def login(panel: LiveServer) -> Login:
    """Log in through the panel's form; returns the client (cookie set) and its CSRF token."""

    def do(role: str = "admin") -> tuple[httpx.Client, str]:
        username, password = ("admin", ADMIN_PASSWORD) if role == "admin" else (
            add_user(panel, role), PASSWORD)  # fmt: skip
        http = panel.http()
        form = csrf_of(http.get("/login").text)  # the login form's own token (login CSRF)
        data = {"username": username, "password": password, "csrf_token": form}
        response = http.post("/login", data=data)
        assert response.status_code == 303, response.text
        page = http.get("/runs")
        assert page.status_code == 200
        return http, csrf_of(page.text)

    return do


def wait_status(server: LiveServer, run_id: str, *statuses: RunStatus) -> Run:
    """Wait until the run reaches one of ``statuses`` (any terminal status if none)."""
    wanted = set(statuses) or {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED,
                               RunStatus.LOST}  # fmt: skip

    def check() -> Run | None:
        server.state.sink.flush()
        run = server.state.store.get_run(run_id)
        return run if run.status in wanted else None

    found = wait_until(check, what=f"run {run_id} to be {sorted(wanted)}")
    assert found is not None  # wait_until returns only a truthy value
    return found
