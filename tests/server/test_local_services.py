"""Local services: ``hoist service run`` (a real process on a free port) lists itself in
the store a live Hoist server shares, labelled ``local``, with no registration; the
server reads it like any other (``ok`` with its endpoints, in the API and on the
Services page); killed, it stays listed and the background refresh finds it
``unreachable``; started again it is the same service, ``ok`` again; stopped, it is gone.
Registered while it runs, it becomes a registered service (same id) that outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.cli.service_listing import listed_url
from hoist.runs.runtime import Runtime
from hoist.server.service_models import ServiceExistsError
from hoist.server.service_registry import ServiceRegistry
from tests.conftest import HOIST, write_files
from tests.panel.conftest import PASSWORD, add_user, csrf_of
from tests.server.conftest import LiveServer
from tests.server.live_services import hoist_server, refused_url, status_of
from tests.waiting import wait_until

APP = """
from hoist.services import Launch, ServeAPI, forms as F
from hoist.services.response import Markdown

app = ServeAPI(title="Local Greeter")
form = F.Model(F.InputText("name", "Name", required=True), F.Submit("Greet"))


async def greet(inputs, tracer):
    return Markdown(f"Hello {inputs['name']}!")


@app.enter("/", model=form, summary="Greet locally", tags=["local-demo"], author="me@example.org")
async def enter(request, inputs):
    return Launch(request, greet, inputs=inputs)
"""


def _service_run(folder: Path, home: Path, port: int) -> subprocess.Popen[str]:
    command = [*HOIST, "service", "run", "local_app:app", "--port", str(port),
               "--app-dir", str(folder), "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "HOIST_HOME": str(home)}
    env.pop("HOIST_SERVICE_SECRET", None)
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    """Signal the process (by its PID); its error output once it has exited."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise
    return err


def _listed(http: httpx.Client, url: str) -> dict[str, Any] | None:
    found = [s for s in http.get("/api/v1/services").json() if s["url"] == url]
    return found[0] if found else None


def _services_page(live: LiveServer) -> str:
    username = add_user(live, "viewer")
    http = live.http()
    token = csrf_of(http.get("/login").text)
    login = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert http.post("/login", data=login).status_code == 303
    page = http.get("/services")
    assert page.status_code == 200
    return page.text


def _card(page: str, service_id: str) -> str:
    start = page.index(f'id="service-{service_id}"')
    return page[start : page.index("</section>", start)]


def test_a_service_run_locally_lists_itself_until_it_stops(
    tmp_path: Path, hoist_home: Path
) -> None:
    folder = write_files(tmp_path / "svc", {"local_app.py": APP})
    port = free_port()
    url = f"http://127.0.0.1:{port}/openapi.json"

    def quick_refresh(app: Any) -> None:  # a dead process is found without waiting minutes
        app.state.hoist.services.refresh_interval = 1.0
        app.state.hoist.services.max_backoff = 1.0

    with hoist_server(hoist_home, prepare=quick_refresh) as live:
        viewer = live.token("viewer")
        http = live.http(viewer)
        assert http.get("/api/v1/services").json() == []
        proc = _service_run(folder, hoist_home, port)
        try:
            listed = wait_until(lambda: _listed(http, url), timeout=60, what="the listing")
            assert listed is not None
            service = status_of(live, viewer, listed["id"], "ok")  # no registration step
            assert service["source"] == "local"
            assert service["name"] == "Local Greeter"
            (endpoint,) = service["endpoints"]
            assert endpoint["summary"] == "Greet locally" and endpoint["tags"] == ["local-demo"]
            card = _card(_services_page(live), service["id"])
            assert 'data-source="local"' in card and 'data-status="ok"' in card
            assert ">local</span>" in card and "Greet locally" in card

            # Killed (no chance to take itself off): still listed, read as unreachable.
            err = _stop(proc, signal.SIGKILL)
            assert (
                f"listed on the Hoist servers' Services page as local service {service['id']}"
                in err
            )
            down = status_of(live, viewer, service["id"], "unreachable")
            assert "cannot connect" in down["error"] and down["source"] == "local"
            assert 'data-status="unreachable"' in _card(_services_page(live), service["id"])

            # Started again on the same port: the same listing, read again at once.
            proc = _service_run(folder, hoist_home, port)
            status_of(live, viewer, service["id"], "ok")
            assert [s["id"] for s in http.get("/api/v1/services").json()] == [service["id"]]
        finally:
            _stop(proc)
        # Stopped (SIGTERM, as a service manager stops it): it takes itself off the list.
        assert http.get("/api/v1/services").json() == []
        assert f'id="service-{service["id"]}"' not in _services_page(live)


def test_a_registered_url_is_not_taken_over_by_a_local_listing(
    hoist_home: Path, runtime: Runtime
) -> None:
    registry = ServiceRegistry(runtime.store.engine)
    url = refused_url()
    registered = registry.add(url)
    found, mine = registry.list_local(url, "Local")
    assert (found.id, found.source, mine) == (registered.id, "openapi", False)
    registry.unlist_local(registered.id)  # not a local one: stays
    assert [s.id for s in registry.all()] == [registered.id]
    other = refused_url()
    local, mine = registry.list_local(other, "Local")
    assert mine and local.source == "local" and local.status == "pending"
    again, mine = registry.list_local(other, "Local again")
    assert mine and again.id == local.id and again.name == "Local again"
    registry.unlist_local(local.id)
    assert [s.id for s in registry.all()] == [registered.id]


def test_registering_a_local_service_keeps_it_after_its_process_stops(
    tmp_path: Path, hoist_home: Path
) -> None:
    folder = write_files(tmp_path / "svc", {"local_app.py": APP})
    port = free_port()
    url = f"http://127.0.0.1:{port}/openapi.json"

    def quick_refresh(app: Any) -> None:
        app.state.hoist.services.refresh_interval = 1.0
        app.state.hoist.services.max_backoff = 1.0

    with hoist_server(hoist_home, prepare=quick_refresh) as live:
        viewer = live.token("viewer")
        http = live.http(viewer)
        operator = live.http(live.token("operator"))
        proc = _service_run(folder, hoist_home, port)
        try:
            listed = wait_until(lambda: _listed(http, url), timeout=60, what="the listing")
            assert listed is not None
            local = status_of(live, viewer, listed["id"], "ok")
            assert local["source"] == "local"

            # Registered by its URL: answered as a fresh registration, the same service.
            answer = operator.post("/api/v1/services", json={"url": url})
            assert answer.status_code == 201, answer.text
            registered = answer.json()
            assert answer.headers["location"] == f"/api/v1/services/{local['id']}"
            assert (registered["id"], registered["url"]) == (local["id"], url)
            assert registered["source"] == "openapi"
            again = operator.post("/api/v1/services", json={"url": url})
            assert again.status_code == 409 and local["id"] in again.json()["detail"]
            ok = status_of(live, viewer, local["id"], "ok")
            assert ok["source"] == "openapi" and ok["name"] == "Local Greeter"
        finally:
            err = _stop(proc)
        # Stopped: it stays, registered, and the refresh finds it unreachable.
        assert f"stays on the Services page: service {local['id']}" in err
        down = status_of(live, viewer, local["id"], "unreachable")
        assert down["source"] == "openapi" and "cannot connect" in down["error"]
        assert [s["id"] for s in http.get("/api/v1/services").json()] == [local["id"]]
        card = _card(_services_page(live), local["id"])
        assert 'data-source="local"' not in card and 'data-status="unreachable"' in card


def test_registering_a_url_listed_local_makes_it_registered(
    hoist_home: Path, runtime: Runtime
) -> None:
    registry = ServiceRegistry(runtime.store.engine)
    url = refused_url()
    local, mine = registry.list_local(url, "Local")
    assert mine and local.source == "local"
    registered = registry.add(url)
    assert (registered.id, registered.source, registered.status, registered.name) == (
        local.id, "openapi", "pending", "Local",
    )  # fmt: skip
    with pytest.raises(ServiceExistsError) as exc:
        registry.add(url)  # registered now: a second registration is refused
    assert exc.value.service_id == local.id
    assert registry.list_local(url, "Local again")[1] is False  # a new process: not its own
    assert registry.unlist_local(local.id) is False  # its process exits: it stays
    assert [(s.id, s.source) for s in registry.all()] == [(local.id, "openapi")]
    # Unlisted before the registration: a fresh one.
    other = refused_url()
    gone, _ = registry.list_local(other)
    assert registry.unlist_local(gone.id) is True
    fresh = registry.add(other)
    assert fresh.id != gone.id and fresh.source == "openapi"


@pytest.mark.parametrize(
    ("host", "path", "url"),
    [
        ("127.0.0.1", "/openapi.json", "http://127.0.0.1:8005/openapi.json"),
        ("svc.example.org", "/api/openapi.json", "http://svc.example.org:8005/api/openapi.json"),
        ("::1", "/openapi.json", None),  # not a service URL a server can be given
        ("127.0.0.1", None, None),  # no OpenAPI document
    ],
)
def test_the_url_a_local_service_is_listed_by(host: str, path: str | None, url: str) -> None:
    assert listed_url(host, 8005, path) == url
    assert (listed_url("0.0.0.0", 8005, "/openapi.json") or "").endswith(":8005/openapi.json")
