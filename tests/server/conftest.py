"""A real uvicorn server on 127.0.0.1 (a free port) against the test's HOIST_HOME."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist.client import HoistClient
from hoist.server import create_app
from hoist.server.accounts import Role, TokenKind
from hoist.server.app import uvicorn_options
from hoist.server.state import ServerState
from hoist.settings import Settings
from tests.conftest import EXAMPLES
from tests.waiting import wait_answering, wait_until

ADMIN_PASSWORD = "admin-test-password-1"


@dataclass
class LiveServer:
    """A running server and helpers to get credentials for it."""

    url: str
    app: Any
    port: int
    clients: list[HoistClient] = field(default_factory=list)
    https: list[httpx.Client] = field(default_factory=list)

    @property
    def state(self) -> ServerState:
        state: ServerState = self.app.state.hoist
        return state

    def token(
        self, role: str = "admin", username: str | None = None, *, worker: bool = False
    ) -> str:
        """An API token of a new account with ``role`` (the admin's own for ``admin``);
        a worker token (the only kind ``/ingest`` takes) with ``worker``."""
        users = self.state.users
        if username is None and role == "admin":
            user = users.find("admin")
        else:
            name = username or f"{role}-{len(users.list())}"
            user = users.find(name) or users.create(name, "password-123", Role(role))
        assert user is not None
        kind = TokenKind.WORKER if worker else TokenKind.USER
        return self.state.credentials.create_token(user.id, "test", kind=kind)[1]

    def worker(self, role: str = "operator", username: str | None = None) -> HoistClient:
        """A client with a worker token of a new account with ``role``."""
        return self.client_with(self.token(role, username, worker=True))

    def client(self, role: str | None = "admin", **options: Any) -> HoistClient:
        """A client with a token of ``role`` (no credentials for ``None``)."""
        return self.client_with(None if role is None else self.token(role), **options)

    def client_with(self, token: str | None, **options: Any) -> HoistClient:
        """A client with ``token`` (closed when the server stops)."""
        client = HoistClient(self.url, token, **options)
        self.clients.append(client)
        return client

    def http(self, token: str | None = None, **options: Any) -> httpx.Client:
        """A raw httpx client (closed when the server stops)."""
        headers = dict(options.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx.Client(base_url=self.url, headers=headers, **options)
        self.https.append(client)
        return client


def _free_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


@contextlib.contextmanager
def serve(
    settings: Settings,
    *,
    port: int = 0,
    prepare: Callable[[Any], None] | None = None,
    **app_options: Any,
) -> Iterator[LiveServer]:
    """Run ``create_app(settings)`` on uvicorn in a thread until the block ends
    (``prepare(app)`` is called before it starts, e.g. to add a test route)."""
    import uvicorn

    app = create_app(settings, **app_options)
    if prepare is not None:
        prepare(app)
    config = uvicorn.Config(
        app, lifespan="on", ws="none", loop="asyncio", log_config=None,
        log_level="warning", timeout_graceful_shutdown=1, **uvicorn_options(settings),
    )  # fmt: skip
    server = uvicorn.Server(config)
    sock = _free_socket(port)
    bound = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        return bool(server.started)

    wait_until(started, timeout=20, what="the test server to start")
    live = LiveServer(f"http://127.0.0.1:{bound}", app, bound)
    try:
        yield live
    finally:
        for client in live.clients:
            client.close()
        for http in live.https:
            http.close()
        server.should_exit = True
        thread.join(15)
        sock.close()
        assert not thread.is_alive(), "the test server did not stop"


def server_settings(home: Path, **changes: Any) -> Settings:
    """Settings of a test server: its own home, a known admin password, the examples."""
    base = Settings(home=home, admin_password=ADMIN_PASSWORD, plugin_paths=(EXAMPLES,))
    return base.with_(**changes) if changes else base


@pytest.fixture
def server(hoist_home: Path) -> Iterator[LiveServer]:
    """A live server on the test's SQLite store, serving the example plugins."""
    with serve(server_settings(hoist_home), keepalive=0.5) as live:
        yield live


@pytest.fixture
def admin(server: LiveServer) -> HoistClient:
    """A client with an admin token."""
    return server.client("admin")


def wait_served(proc: subprocess.Popen[Any], url: str, timeout: float = 60) -> None:
    """Wait until the ``hoist serve`` process ``proc`` answers its readiness check at
    ``url``; fails at once (with its error output, when piped) if it exits."""
    wait_answering(proc, f"{url}/api/v1/ready", timeout, "hoist serve to be ready")
