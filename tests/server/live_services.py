"""Real services for the registry's tests: a ``ServeAPI`` app on uvicorn in a thread (on
the test's SQLite store, with the shared secret), a port nobody listens on, a socket
that accepts connections but never answers, and a server on the same store."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from hoist.runs.runtime import Runtime
from hoist.services import InputsError, Launch, ServeAPI
from hoist.services import forms as F
from hoist.services.response import Markdown
from hoist.settings import Settings
from tests.server.conftest import LiveServer, serve, server_settings
from tests.waiting import wait_until

SECRET = "test-service-secret-0123456789"

FORM = F.Model(
    F.Errors(),
    F.InputText("name", "Name", required=True),
    F.InputNumber("times", "Times", value=1, integer=True, min_value=1),
    F.Submit("Greet"),
)


async def greet(inputs: dict[str, Any], tracer: Any) -> Markdown:
    """The entry point: a greeting, ``times`` times."""
    return Markdown(" ".join([f"Hello {inputs['name']}!"] * inputs["times"]))


def greeter(runtime: Runtime, secret: str | None = SECRET, **options: Any) -> ServeAPI:
    """A service with one endpoint at ``/`` (and, ``/second``, another)."""
    app = ServeAPI(title="Greeter", runtime=runtime, secret=secret, **options)

    @app.enter(
        "/", model=FORM, summary="Greet", description="Says hello.", tags=["demo"],
        version="1.2.0", author="dev@example.org", organization="Hoist",
    )  # fmt: skip
    async def enter(request: Any, inputs: dict[str, Any]) -> Any:
        if inputs["name"] == "nobody":
            raise InputsError(name="say who to greet")
        return Launch(request, greet, inputs=inputs)

    @app.enter("/second", model=FORM, summary="Greet again", tags=["demo", "more"])
    async def again(request: Any, inputs: dict[str, Any]) -> Any:
        return Launch(request, greet, inputs=inputs)

    return app


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` on uvicorn (its lifespan on) on a free loopback port; its base URL."""
    config = uvicorn.Config(
        app, lifespan="on", ws="none", loop="asyncio", log_config=None,
        log_level="warning", timeout_graceful_shutdown=1, http="h11",
    )  # fmt: skip
    server = uvicorn.Server(config)
    sock = _socket()
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="the service to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


@contextlib.contextmanager
def silent_socket() -> Iterator[str]:
    """A URL whose socket accepts connections and never answers."""
    sock = _socket()
    sock.listen(64)  # the kernel accepts the connections; nobody reads or writes
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/openapi.json"
    finally:
        sock.close()


def refused_url() -> str:
    """A URL of a loopback port nobody listens on."""
    sock = _socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/openapi.json"


@contextlib.contextmanager
def hoist_server(home: Path, **options: Any) -> Iterator[LiveServer]:
    """A Hoist server on ``home``'s store, with the shared secret."""
    settings: Settings = server_settings(home, service_secret=SECRET)
    with serve(settings, keepalive=0.5, **options) as live:
        yield live


def status_of(live: LiveServer, token: str, service_id: str, wanted: str) -> dict[str, Any]:
    """Wait until the service's stored status is ``wanted``; the service as listed."""
    http = live.http(token)

    def check() -> dict[str, Any] | None:
        found = {s["id"]: s for s in http.get("/api/v1/services").json()}
        service = found.get(service_id)
        return service if service is not None and service["status"] == wanted else None

    return wait_until(check, timeout=30, what=f"service {service_id} to be {wanted}")
