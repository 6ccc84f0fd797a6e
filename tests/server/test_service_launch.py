"""Launching a registered service through the Hoist server, against a real ServeAPI app
on uvicorn sharing the test's SQLite store and the server's secret: the run is recorded
with the operator as its user; the service's 422 and 429 pass through; a service that
does not answer is a 502; the service itself refuses forged and missing identities."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import Launch
from hoist.services.identity import IDENTITY_HEADER, sign
from hoist.services.response import Markdown
from tests.server.conftest import LiveServer, serve, server_settings
from tests.server.live_services import (
    FORM,
    SECRET,
    greeter,
    hoist_server,
    running,
    status_of,
)
from tests.services.conftest import ended

GATE = threading.Event()


def _registered(live: LiveServer, url: str) -> str:
    operator = live.token("operator")
    answer = live.http(operator).post("/api/v1/services", json={"url": url})
    assert answer.status_code == 201, answer.text
    service_id: str = answer.json()["id"]
    status_of(live, operator, service_id, "ok")
    return service_id


@pytest.fixture
def setup(hoist_home: Path, runtime: Runtime) -> Iterator[tuple[LiveServer, str, str]]:
    """A server, the greeter service registered with it, and the service's base URL."""
    with running(greeter(runtime)) as base, hoist_server(hoist_home) as live:
        yield live, _registered(live, f"{base}/openapi.json"), base


def test_an_operator_launches_and_the_run_records_them(
    setup: tuple[LiveServer, str, str], runtime: Runtime
) -> None:
    live, service_id, base = setup
    operator = live.http(live.token("operator", "olga"))
    answer = operator.post(
        f"/api/v1/services/{service_id}/launch", params={"path": "/"},
        json={"name": "Ada", "times": "2"},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    assert answer.json()["url"] == f"/runs/{run_id}" == answer.headers["Location"]
    run = ended(runtime, run_id)
    assert run.status == RunStatus.SUCCEEDED
    assert run.meta["user"] == "olga" and run.meta["role"] == "operator"
    assert run.meta["service"]["url"].rstrip("/") == base
    assert run.params == {"name": "Ada", "times": 2}  # coerced by the service's form
    got = live.http(live.token("viewer")).get(f"/api/v1/runs/{run_id}")
    assert got.status_code == 200 and got.json()["meta"]["user"] == "olga"


def test_the_form_comes_from_the_service(setup: tuple[LiveServer, str, str]) -> None:
    live, service_id, _ = setup
    viewer = live.http(live.token("viewer"))
    form = viewer.get(f"/api/v1/services/{service_id}/form", params={"path": "/second"})
    assert form.status_code == 200
    assert [e.get("name") for e in form.json()["elements"] if e.get("name")] == ["name", "times"]
    assert form.json()["schema"]["required"] == ["name"]
    assert (
        viewer.get(f"/api/v1/services/{service_id}/form", params={"path": "/x"}).status_code == 404
    )
    assert (
        viewer.get(f"/api/v1/services/{service_id}/form", params={"path": "x"}).status_code == 422
    )


def test_invalid_inputs_pass_through_as_422(setup: tuple[LiveServer, str, str]) -> None:
    live, service_id, _ = setup
    operator = live.http(live.token("operator"))
    url = f"/api/v1/services/{service_id}/launch"
    refused = operator.post(url, json={"name": "nobody"})  # the handler's InputsError
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"name": ["say who to greet"]}
    assert {e.get("name") for e in refused.json()["elements"]} >= {"name", "times"}
    missing = operator.post(url, json={"times": 0})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"name", "times"}
    assert operator.post(url, json=[1, 2]).status_code == 422  # inputs are an object
    assert (
        operator.post(url, content=b"{", headers={"Content-Type": "application/json"}).status_code
        == 400
    )


def test_who_may_launch_and_what(setup: tuple[LiveServer, str, str]) -> None:
    live, service_id, _ = setup
    body = {"name": "Ada"}
    viewer = live.http(live.token("viewer"))
    assert viewer.post(f"/api/v1/services/{service_id}/launch", json=body).status_code == 403
    assert live.http().post(f"/api/v1/services/{service_id}/launch", json=body).status_code == 401
    operator = live.http(live.token("operator"))
    unknown = operator.post("/api/v1/services/nope/launch", json=body)
    assert unknown.status_code == 404 and unknown.json()["kind"] == "service"
    path = operator.post(
        f"/api/v1/services/{service_id}/launch", params={"path": "/nope"}, json=body
    )
    assert path.status_code == 404 and path.json()["kind"] == "endpoint"


def test_a_service_that_does_not_answer_is_a_502(hoist_home: Path, runtime: Runtime) -> None:
    with hoist_server(hoist_home) as live:
        with running(greeter(runtime)) as base:
            service_id = _registered(live, f"{base}/openapi.json")
        operator = live.http(live.token("operator"))
        answer = operator.post(f"/api/v1/services/{service_id}/launch", json={"name": "Ada"})
        assert answer.status_code == 502
        assert "cannot be reached" in answer.json()["detail"]
        assert base in answer.json()["detail"]
        form = operator.get(f"/api/v1/services/{service_id}/form")
        assert form.status_code == 502
        # The server answers on.
        assert operator.get("/api/v1/services").status_code == 200


def test_a_service_with_another_secret_refuses_the_server(
    hoist_home: Path, runtime: Runtime
) -> None:
    other = greeter(runtime, secret="another-secret-9876543210")
    with running(other) as base, hoist_server(hoist_home) as live:
        service_id = _registered(live, f"{base}/openapi.json")
        answer = live.http(live.token("operator")).post(
            f"/api/v1/services/{service_id}/launch", json={"name": "Ada"}
        )
    assert answer.status_code == 502
    assert "HOIST_SERVICE_SECRET" in answer.json()["detail"]


def test_the_service_refuses_forged_and_missing_identities(
    hoist_home: Path, runtime: Runtime
) -> None:
    with running(greeter(runtime)) as base, httpx.Client(base_url=base) as http:
        body = {"name": "Mallory"}
        forged = sign("not-the-secret", "admin", "admin")
        assert http.post("/", json=body, headers={IDENTITY_HEADER: forged}).status_code == 401
        assert http.post("/", json=body, headers={IDENTITY_HEADER: "admin"}).status_code == 401
        assert http.post("/", json=body, headers={"x-kodosumi_user": "admin"}).status_code == 401
        assert http.post("/", json=body).status_code == 401
        expired = sign(SECRET, "admin", "admin", ttl=-1)
        assert http.post("/", json=body, headers={IDENTITY_HEADER: expired}).status_code == 401
        good = http.post("/", json=body, headers={IDENTITY_HEADER: sign(SECRET, "ann", "admin")})
        assert good.status_code == 202
        assert ended(runtime, good.json()["run_id"]).meta["user"] == "ann"


def test_a_busy_service_answers_429_with_retry_after(hoist_home: Path, runtime: Runtime) -> None:
    app = greeter(runtime, max_concurrency=1, max_queued=0)

    async def wait_for_gate(inputs: dict[str, Any], tracer: Any) -> Markdown:
        import anyio.to_thread

        await anyio.to_thread.run_sync(GATE.wait, 30)
        return Markdown("done")

    @app.enter("/slow", model=FORM, summary="Slow")
    async def slow(request: Any, inputs: dict[str, Any]) -> Any:
        return Launch(request, wait_for_gate, inputs=inputs)

    GATE.clear()
    with running(app) as base, hoist_server(hoist_home) as live:
        service_id = _registered(live, f"{base}/openapi.json")
        operator = live.http(live.token("operator"))
        url = f"/api/v1/services/{service_id}/launch"
        first = operator.post(url, params={"path": "/slow"}, json={"name": "a"})
        assert first.status_code == 202
        try:
            busy = operator.post(url, params={"path": "/slow"}, json={"name": "b"})
            assert busy.status_code == 429
            assert int(busy.headers["Retry-After"]) >= 1
            assert busy.json()["detail"]
        finally:
            GATE.set()
        assert ended(runtime, first.json()["run_id"]).status == RunStatus.SUCCEEDED


def test_without_a_server_secret_launches_are_anonymous_to_an_open_service(
    hoist_home: Path, runtime: Runtime
) -> None:
    with (
        running(greeter(runtime, secret=None)) as base,
        serve(server_settings(hoist_home), keepalive=0.5) as live,
    ):
        service_id = _registered(live, f"{base}/openapi.json")
        answer = live.http(live.token("operator")).post(
            f"/api/v1/services/{service_id}/launch", json={"name": "Ada"}
        )
        assert answer.status_code == 202
        assert "user" not in ended(runtime, answer.json()["run_id"]).meta
