"""The panel's Services page against real services: a ``ServeAPI`` app on uvicorn and URLs
that do not answer. Listed as the registry last read them (never waiting on one);
operators add, refresh and remove; an endpoint's form is rendered from the service's
elements and launches a run (errors by field, a service that is down)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hoist.runs.runtime import Runtime
from tests.panel.conftest import PASSWORD, add_user, csrf_of, wait_status
from tests.server.conftest import LiveServer
from tests.server.live_services import (
    greeter,
    hoist_server,
    refused_url,
    running,
    silent_socket,
    status_of,
)


@pytest.fixture
def live(hoist_home: Path) -> Iterator[LiveServer]:
    """A Hoist server sharing the services' secret."""
    with hoist_server(hoist_home) as server:
        yield server


def _login(server: LiveServer, role: str) -> tuple[httpx.Client, str]:
    username = add_user(server, role)
    http = server.http()
    token = csrf_of(http.get("/login").text)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert http.post("/login", data=data).status_code == 303
    return http, csrf_of(http.get("/services").text)


def _card(page: str, service_id: str) -> str:
    start = page.index(f'id="service-{service_id}"')
    return page[start : page.index("</section>", start)]


def test_services_are_listed_with_their_status_and_endpoints(
    live: LiveServer, runtime: Runtime
) -> None:
    viewer, _ = _login(live, "viewer")
    with running(greeter(runtime)) as base, silent_socket() as silent:
        ok = live.state.services.add(f"{base}/openapi.json")
        down = live.state.services.add(refused_url())
        hanging = live.state.services.add(silent)
        page = viewer.get("/services")  # answers while the silent one is being read
        assert page.status_code == 200
        assert 'aria-current="page">Services' in page.text
        assert 'id="add-service"' not in page.text  # viewers cannot add
        assert 'data-status="pending"' in _card(page.text, hanging.id) or "unreachable" in (
            _card(page.text, hanging.id)
        )
        token = live.token("viewer")
        status_of(live, token, ok.id, "ok")
        status_of(live, token, down.id, "unreachable")
        page = viewer.get("/services").text
    card = _card(page, ok.id)
    assert "Greeter" in card and 'class="service-status st-ok"' in card
    assert 'href="/services/' + ok.id + '/enter?path=%2F"' in card
    assert "dev@example.org" in card and "1.2.0" in card and "Hoist" in card
    assert '<span class="tag">demo</span>' in card and '<span class="tag">more</span>' in card
    assert "<p>Says hello.</p>" in card
    assert "Refresh" not in card  # viewers see no controls
    bad = _card(page, down.id)
    assert 'class="service-status st-unreachable"' in bad and "cannot connect" in bad


def test_operators_add_refresh_and_remove_services(live: LiveServer) -> None:
    http, csrf = _login(live, "operator")
    url = refused_url()
    added = http.post("/services", data={"csrf_token": csrf, "url": url})
    assert added.status_code == 303
    service_id = added.headers["location"].split("#service-")[1]
    assert live.state.services.get(service_id).url == url
    again = http.post("/services", data={"csrf_token": csrf, "url": url})
    assert again.status_code == 409 and "registered already" in again.text
    assert f'value="{url}"' in again.text  # what was typed is kept
    bad = http.post("/services", data={"csrf_token": csrf, "url": "ftp://x/<b>"})
    assert bad.status_code == 422 and 'id="add-error"' in bad.text and "<b>" not in bad.text
    assert http.post("/services", data={"url": "http://127.0.0.1:1/"}).status_code == 403
    refreshed = http.post(f"/services/{service_id}/refresh", data={"csrf_token": csrf})
    assert refreshed.status_code == 303
    assert http.post("/services/nosuch/refresh", data={"csrf_token": csrf}).status_code == 404
    removed = http.post(f"/services/{service_id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303
    assert f"service-{service_id}" not in http.get("/services").text
    assert http.post(f"/services/{service_id}/remove", data={"csrf_token": csrf}).status_code == (
        404
    )


def test_viewers_cannot_change_services(live: LiveServer) -> None:
    http, csrf = _login(live, "viewer")
    service = live.state.services.add(refused_url())
    assert http.post("/services", data={"csrf_token": csrf, "url": refused_url()}).status_code == (
        403
    )
    assert http.post(f"/services/{service.id}/remove", data={"csrf_token": csrf}).status_code == (
        403
    )


def test_an_endpoint_form_launches_a_run(live: LiveServer, runtime: Runtime) -> None:
    http, csrf = _login(live, "operator")
    with running(greeter(runtime)) as base:
        service = live.state.services.add(f"{base}/openapi.json")
        status_of(live, live.token("viewer"), service.id, "ok")
        url = f"/services/{service.id}/enter?path=/"
        form = http.get(url)
        assert form.status_code == 200
        assert 'id="field-name"' in form.text and 'id="field-times"' in form.text
        assert f'name="csrf_token" value="{csrf}"' in form.text
        # checked here first: a number that is not one
        local = http.post(url, data={"csrf_token": csrf, "name": "ann", "times": "x"})
        assert local.status_code == 422
        assert re.search(r'data-field="times".*?class="errors"', local.text, re.S)
        # checked by the service: its InputsError comes back next to the field
        remote = http.post(url, data={"csrf_token": csrf, "name": "nobody", "times": "1"})
        assert remote.status_code == 422
        assert "say who to greet" in remote.text and 'value="nobody"' in remote.text
        launched = http.post(url, data={"csrf_token": csrf, "name": "ann", "times": "2"})
        assert launched.status_code == 303, launched.text
        run_id = launched.headers["location"].removeprefix("/runs/")
        run = wait_status(live, run_id)
        assert run.result is not None and "Hello ann! Hello ann!" in str(run.result)
        assert run.meta.get("user", "").startswith("operator-")
        missing = http.get(f"/services/{service.id}/enter?path=/nosuch")
        assert missing.status_code == 404
    down = http.get(url)  # the service has stopped
    assert down.status_code == 502 and "did not answer" in html.unescape(down.text)
    gone = http.post(url, data={"csrf_token": csrf, "name": "ann", "times": "1"})
    assert gone.status_code == 502


def test_a_viewer_sees_the_form_disabled(live: LiveServer, runtime: Runtime) -> None:
    http, csrf = _login(live, "viewer")
    with running(greeter(runtime)) as base:
        service = live.state.services.add(f"{base}/openapi.json")
        status_of(live, live.token("viewer"), service.id, "ok")
        page = http.get(f"/services/{service.id}/enter?path=/").text
        form = page.split("<main", 1)[1]  # the header's logout form carries the token
        assert "<fieldset disabled" in form and 'name="csrf_token" value' not in form
        post = http.post(f"/services/{service.id}/enter?path=/",
                         data={"csrf_token": csrf, "name": "x"})  # fmt: skip
        assert post.status_code == 403
