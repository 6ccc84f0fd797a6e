"""The server's registry of services, against real services: a ServeAPI app on uvicorn,
a port nobody listens on, a socket that never answers; registration, listing, refresh,
removal, bad input, ``--register`` at start-up (which never waits on a service), an
unreachable service retried until it answers, and services that hang delaying no other."""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from fastapi import FastAPI
from starlette.routing import Mount

from hoist._net import free_port
from hoist.cli.main import cli
from hoist.runs.runtime import Runtime
from hoist.server.service_discovery import endpoints_of, service_base
from tests.conftest import HOIST
from tests.server.conftest import ADMIN_PASSWORD, LiveServer, wait_served
from tests.server.live_services import (
    greeter,
    hoist_server,
    refused_url,
    running,
    silent_socket,
    status_of,
)
from tests.waiting import wait_until


def _register(live: LiveServer, token: str, url: str) -> dict[str, Any]:
    answer = live.http(token).post("/api/v1/services", json={"url": url})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_service_registered_by_its_openapi_url_lists_its_endpoints(
    hoist_home: Path, runtime: Runtime
) -> None:
    with running(greeter(runtime)) as base, hoist_server(hoist_home) as live:
        operator = live.token("operator")
        created = _register(live, operator, f"{base}/openapi.json")
        assert created["status"] in ("pending", "ok")  # stored at once, read in the background
        assert created["url"] == f"{base}/openapi.json"
        service = status_of(live, live.token("viewer"), created["id"], "ok")
    assert service["name"] == "Greeter"
    assert service["source"] == "openapi"
    assert service["error"] is None and service["checked_at"] > 0
    first, second = sorted(service["endpoints"], key=lambda e: e["path"])
    assert first == {
        "path": "/", "summary": "Greet", "description": "Says hello.", "tags": ["demo"],
        "author": "dev@example.org", "version": "1.2.0", "organization": "Hoist",
    }  # fmt: skip
    assert second["path"] == "/second" and second["tags"] == ["demo", "more"]


def test_ray_serve_routes_lead_to_each_application_under_its_prefix(
    hoist_home: Path, runtime: Runtime
) -> None:
    # Ray Serve's proxy: /-/routes maps route prefixes to applications, each application
    # answers under its prefix (its openapi.json too).
    proxy = FastAPI(routes=[Mount("/greet", app=greeter(runtime))])
    proxy.add_api_route("/-/routes", lambda: {"/greet": "greeter"}, methods=["GET"])
    with running(proxy) as base, hoist_server(hoist_home) as live:
        created = _register(live, live.token("operator"), f"{base}/-/routes")
        service = status_of(live, live.token("viewer"), created["id"], "ok")
        assert service["source"] == "ray-serve"
        assert service["name"] == "greeter"
        assert sorted(e["path"] for e in service["endpoints"]) == ["/greet/", "/greet/second"]
        form = live.http(live.token("viewer")).get(
            f"/api/v1/services/{created['id']}/form", params={"path": "/greet/"}
        )
        assert form.status_code == 200, form.text
        assert "name" in {e.get("name") for e in form.json()["elements"]}


def test_unreachable_services_are_listed_as_such_and_nothing_waits_on_them(
    hoist_home: Path,
) -> None:
    with silent_socket() as silent, hoist_server(hoist_home) as live:
        operator, viewer = live.token("operator"), live.token("viewer")
        hanging = _register(live, operator, silent)
        refused = _register(live, operator, refused_url())
        # The server answers while a read of the silent one is in flight.
        listed = live.http(viewer).get("/api/v1/services")
        assert listed.status_code == 200
        assert {s["id"] for s in listed.json()} == {hanging["id"], refused["id"]}
        down = status_of(live, viewer, refused["id"], "unreachable")
        assert "cannot connect" in down["error"]
        assert down["endpoints"] == []
        late = status_of(live, viewer, hanging["id"], "unreachable")
        assert "did not answer in time" in late["error"]


def test_an_unreachable_service_is_retried_and_turns_ok_once_it_answers(
    hoist_home: Path, runtime: Runtime
) -> None:
    # The service's port is bound (nobody listens yet: connections are refused) and
    # later served by uvicorn: no refresh is asked, the registry retries by itself.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/openapi.json"
    config = uvicorn.Config(
        greeter(runtime), lifespan="on", ws="none", loop="asyncio", log_config=None,
        log_level="warning", timeout_graceful_shutdown=1, http="h11",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    try:
        with hoist_server(hoist_home) as live:
            viewer = live.token("viewer")
            created = _register(live, live.token("operator"), url)
            down = status_of(live, viewer, created["id"], "unreachable")
            assert "cannot connect" in down["error"] and down["endpoints"] == []
            thread.start()
            wait_until(lambda: server.started, timeout=20, what="the service to start")
            up = status_of(live, viewer, created["id"], "ok")
            assert up["error"] is None
            assert sorted(e["path"] for e in up["endpoints"]) == ["/", "/second"]
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(15)
        sock.close()


class _Holding:
    """Listening sockets that accept every connection and never answer (a service that
    hangs), counting the connections they hold."""

    def __init__(self, count: int) -> None:
        self.socks = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
        self.held: list[socket.socket] = []
        self._selector = selectors.DefaultSelector()
        for sock in self.socks:
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.getsockname()[1]}/openapi.json" for s in self.socks]

    def _accept(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                with contextlib.suppress(BlockingIOError):
                    conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    self.held.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._selector.close()
        for sock in [*self.held, *self.socks]:
            sock.close()


@contextlib.contextmanager
def _holding(count: int) -> Iterator[_Holding]:
    holding = _Holding(count)
    try:
        yield holding
    finally:
        holding.close()


def test_services_that_hang_delay_no_other_read(hoist_home: Path, runtime: Runtime) -> None:
    count = 12  # more than a small cap on reads in flight would let through (it was 8)

    def long_reads(app: Any) -> None:  # the hanging reads stay in flight throughout
        app.state.hoist.services.timeout = httpx.Timeout(120.0, connect=5.0)

    with (
        _holding(count) as hanging,
        running(greeter(runtime)) as base,
        hoist_server(hoist_home, prepare=long_reads) as live,
    ):
        operator = live.token("operator")
        stuck = [_register(live, operator, url)["id"] for url in hanging.urls]
        wait_until(
            lambda: len(hanging.held) >= count,
            what=f"a read of each of the {count} hanging services to be in flight at once",
        )
        healthy = _register(live, operator, f"{base}/openapi.json")
        assert status_of(live, operator, healthy["id"], "ok")["endpoints"]
        listed = {s["id"]: s["status"] for s in live.http(operator).get("/api/v1/services").json()}
        assert [listed[i] for i in stuck] == ["pending"] * count  # their reads still hang


def test_refresh_finds_a_service_gone_and_keeps_its_endpoints(
    hoist_home: Path, runtime: Runtime
) -> None:
    with hoist_server(hoist_home) as live:
        operator = live.token("operator")
        with running(greeter(runtime)) as base:
            created = _register(live, operator, f"{base}/openapi.json")
            status_of(live, operator, created["id"], "ok")
        answer = live.http(operator).post(f"/api/v1/services/{created['id']}/refresh")
        assert answer.status_code == 202
        down = status_of(live, operator, created["id"], "unreachable")
        assert len(down["endpoints"]) == 2  # the last found, until it answers again


def test_register_refuses_bad_urls_duplicates_and_viewers(hoist_home: Path) -> None:
    with hoist_server(hoist_home) as live:
        operator = live.http(live.token("operator"))
        for bad in ("ftp://host/openapi.json", "not a url", "http://", "file:///etc/passwd",
                    "http://host:99999/openapi.json", "http://host/a b", "http://u:p@host/",
                    "http://[::1]/openapi.json"):  # fmt: skip
            answer = operator.post("/api/v1/services", json={"url": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert "url" in answer.json()["errors"]
        for body in ({}, {"url": ""}, {"url": "http://h/" + "x" * 2000}, {"url": 3}):
            assert operator.post("/api/v1/services", json=body).status_code == 422
        url = refused_url()
        first = operator.post("/api/v1/services", json={"url": url})
        assert first.status_code == 201
        again = operator.post("/api/v1/services", json={"url": url})
        assert again.status_code == 409
        assert first.json()["id"] in again.json()["detail"]
        viewer = live.http(live.token("viewer"))
        assert viewer.post("/api/v1/services", json={"url": "http://h/x"}).status_code == 403
        assert live.http().get("/api/v1/services").status_code == 401
        service_id = first.json()["id"]
        assert viewer.delete(f"/api/v1/services/{service_id}").status_code == 403
        assert viewer.post(f"/api/v1/services/{service_id}/refresh").status_code == 403


def test_delete_forgets_a_service_and_unknown_ids_are_404(hoist_home: Path) -> None:
    with hoist_server(hoist_home) as live:
        operator = live.http(live.token("operator"))
        created = _register(live, live.token("operator"), refused_url())
        path = f"/api/v1/services/{created['id']}"
        assert operator.get(path).status_code == 200
        assert operator.delete(path).status_code == 204
        assert operator.get(path).status_code == 404
        assert operator.delete(path).status_code == 404
        assert operator.post(f"{path}/refresh").status_code == 404
        assert operator.get(f"{path}/form").status_code == 404
        assert operator.get("/api/v1/services").json() == []
        assert operator.get("/api/v1/services/bad%20id").status_code == 422


def test_start_up_registers_in_the_background_while_a_service_hangs(
    hoist_home: Path, runtime: Runtime
) -> None:
    with (
        silent_socket() as silent,
        running(greeter(runtime)) as base,
        hoist_server(hoist_home, register=[silent, refused_url(), f"{base}/openapi.json"]) as live,
    ):
        # serve() returned: the server started while one service hangs.
        viewer = live.token("viewer")
        http = live.http(viewer)
        assert http.get("/api/v1/ready").status_code == 200
        listed = wait_until(
            lambda: (found := http.get("/api/v1/services").json()) and len(found) == 3 and found,
            what="the three services to be registered",
        )
        by_url = {s["url"]: s for s in listed}
        status_of(live, viewer, by_url[f"{base}/openapi.json"]["id"], "ok")
        assert status_of(live, viewer, by_url[silent]["id"], "unreachable")["error"]


def test_start_up_registration_of_a_known_url_reads_it_again(
    hoist_home: Path, runtime: Runtime
) -> None:
    with running(greeter(runtime)) as base:
        url = f"{base}/openapi.json"
        with hoist_server(hoist_home, register=[url]) as live:
            token = live.token("viewer")
            listed = wait_until(lambda: live.http(token).get("/api/v1/services").json())
            service_id = listed[0]["id"]
            status_of(live, token, service_id, "ok")
        with hoist_server(hoist_home, register=[url, url]) as live:
            listed = live.http(live.token("viewer")).get("/api/v1/services").json()
            assert [s["id"] for s in listed] == [service_id]


def test_hoist_serve_register_option(hoist_home: Path) -> None:
    bad = CliRunner().invoke(cli, ["serve", "--register", "ftp://nowhere/openapi.json"])
    assert bad.exit_code == 2
    assert "http" in bad.output
    port = free_port()
    url = refused_url()
    env = {"HOIST_HOME": str(hoist_home), "HOIST_ADMIN_PASSWORD": ADMIN_PASSWORD}
    proc = subprocess.Popen(
        [*HOIST, "serve", "--port", str(port), "--register", url,
         "--register", url, "--log-level", "warning"],
        env={**os.environ, **env}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_served(proc, base)
        http = httpx.Client(base_url=base)
        login = http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text

        def unreachable() -> bool:
            found = http.get("/api/v1/services").json()
            return [(s["url"], s["status"]) for s in found] == [(url, "unreachable")]

        wait_until(unreachable, what="the registered service to be read")
        http.close()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.parametrize(
    ("url", "source", "base"),
    [
        ("http://h:8005/openapi.json", "openapi", "http://h:8005"),
        ("http://h/sub/openapi.json", "openapi", "http://h/sub"),
        ("http://h:8000/-/routes", "ray-serve", "http://h:8000"),
        ("https://h/proxy/-/routes", "ray-serve", "https://h/proxy"),
    ],
)
def test_service_base(url: str, source: Any, base: str) -> None:
    assert service_base(url, source) == base


def test_only_operations_with_x_hoist_are_endpoints() -> None:
    document = {
        "paths": {
            "/": {"get": {"summary": "form"}, "post": {"x-hoist": {"summary": "S", "tags": "x"}}},
            "/health": {"get": {"summary": "health"}},
            "/odd": "not an item",
        }
    }
    (endpoint,) = endpoints_of(document, "/app/")
    assert endpoint.path == "/app/" and endpoint.summary == "S" and endpoint.tags == []
    assert endpoints_of({"paths": []}) == []
