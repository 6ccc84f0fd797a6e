"""The services tools over HTTP, against a real ``ServeAPI`` service registered with the
server: listed with their endpoints, launched as the caller (the run records who), the
service's own refusals passed through with their field errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import need_sdk

need_sdk()  # before what imports the SDK

from hoist.runs.models import RunStatus  # noqa: E402
from hoist.runs.runtime import Runtime  # noqa: E402
from tests.mcp.conftest import http_session, live_mcp  # noqa: E402
from tests.server.conftest import server_settings  # noqa: E402
from tests.server.live_services import SECRET, greeter, running, status_of  # noqa: E402
from tests.services.conftest import ended  # noqa: E402


@pytest.fixture
def with_service(
    hoist_home: Path, runtime: Runtime, plugin_paths: tuple[Path, ...]
) -> Iterator[tuple[Any, str]]:
    """A server with ``/mcp`` and the greeter service registered; the service's id."""
    settings = server_settings(hoist_home, plugin_paths=plugin_paths, service_secret=SECRET)
    with running(greeter(runtime)) as base, live_mcp(settings) as live:
        operator = live.token("operator")
        answer = live.http(operator).post("/api/v1/services", json={"url": f"{base}/openapi.json"})
        assert answer.status_code == 201, answer.text
        service_id: str = answer.json()["id"]
        status_of(live, operator, service_id, "ok")
        yield live, service_id


def test_an_agent_lists_and_launches_a_service(
    with_service: tuple[Any, str], runtime: Runtime
) -> None:
    live, service_id = with_service
    with http_session(live, live.token("operator", "olga")) as olga:
        (service,) = olga.ok("list_services")["services"]
        assert service["id"] == service_id and service["status"] == "ok"
        endpoints = {e["path"]: e["summary"] for e in service["endpoints"]}
        assert endpoints == {"/": "Greet", "/second": "Greet again"}
        answer = olga.ok("launch_service", {"service_id": service_id, "path": "/",
                                            "inputs": {"name": "Ada", "times": "2"}})  # fmt: skip
        run_id = answer["run_id"]
        waited = olga.ok("wait_run", {"run_id": run_id, "timeout_seconds": 60})
        assert waited["ended"] is True and waited["status"] == "succeeded"
        refused = olga.refused("launch_service", {"service_id": service_id, "path": "/",
                                                  "inputs": {"name": "nobody"}})  # fmt: skip
        assert refused["status"] == 422
        assert "say who to greet" in str(refused["errors"])
    run = ended(runtime, run_id)
    assert run.status is RunStatus.SUCCEEDED
    assert run.meta["user"] == "olga" and run.meta["role"] == "operator"
    assert run.params == {"name": "Ada", "times": 2}
    with http_session(live, live.token("viewer")) as viewer:
        assert viewer.ok("list_services")["services"][0]["id"] == service_id
        launch = {"service_id": service_id, "inputs": {"name": "Bo"}}
        assert viewer.refused("launch_service", launch)["status"] == 403
