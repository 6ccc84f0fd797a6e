"""Ray Serve registration for real: the seed's ``examples/my_service`` deployed as a
Serve ingress on the session's Ray cluster (Serve's HTTP proxy on a free loopback port),
registered at a live Hoist server by its ``/-/routes`` URL, listed ``ok`` with its
endpoint, and launched through the server: the signed identity crosses Serve's proxy,
and the replica records the run, succeeded, in the test's store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hoist.runs.models import RunStatus
from tests.e2e.conftest import SECRET, reached
from tests.seeds.test_kodosumi_seed import connected, serve_port, serve_run_my_service  # noqa: F401
from tests.server.conftest import serve, server_settings
from tests.server.live_services import status_of


def test_a_ray_serve_service_is_registered_listed_and_launched(
    ray_cluster: Any,
    serve_port: int,  # noqa: F811 (the fixture imported above)
    hoist_home: Path,
) -> None:
    proxy = serve_run_my_service(
        ray_cluster, hoist_home, serve_port, {"HOIST_SERVICE_SECRET": SECRET}
    )
    # Without the server's identity the replica refuses a launch: the secret is in force.
    assert httpx.post(f"{proxy}/", json={"tasks": "3"}, timeout=30).status_code == 401
    with serve(server_settings(hoist_home, service_secret=SECRET), keepalive=0.5) as live:
        operator = live.token("operator", "grace")
        http = live.http(operator, timeout=60)
        created = http.post("/api/v1/services", json={"url": f"{proxy}/-/routes"})
        assert created.status_code == 201, created.text
        service_id = created.json()["id"]
        listed = status_of(live, operator, service_id, "ok")
        assert listed["source"] == "ray-serve" and listed["error"] is None
        [endpoint] = listed["endpoints"]
        assert endpoint["path"] == "/" and endpoint["summary"] == "My Service"
        assert endpoint["author"] == "your.email@domain.com" and endpoint["tags"] == ["Test"]

        form = http.get(f"/api/v1/services/{service_id}/form", params={"path": "/"})
        assert form.status_code == 200, form.text
        assert any(e.get("name") == "tasks" for e in form.json()["elements"])
        refused = http.post(f"/api/v1/services/{service_id}/launch", json={"tasks": 501})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"]["tasks"] == ["Maximum number of concurrent tasks is 500"]

        launched = http.post(
            f"/api/v1/services/{service_id}/launch", params={"path": "/"}, json={"tasks": "3"}
        )
        assert launched.status_code == 202, launched.text
        run_id = launched.json()["run_id"]
        assert run_id in launched.json()["url"]
        run = reached(live.state.store, run_id, timeout=120)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert sorted(r["i"] for r in run.result) == [0, 1, 2]
    assert run.meta["user"] == "grace"  # the server's signed identity, through Serve
    assert run.meta["service"]["url"].startswith(proxy)
