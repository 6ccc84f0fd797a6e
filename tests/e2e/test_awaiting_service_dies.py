"""A service process killed while its run awaits a person: the run cannot be answered
any more, so the server's sweep ends it ``lost`` (it never stays ``awaiting``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from hoist.runs.models import RunStatus
from hoist.services.identity import IDENTITY_HEADER, sign
from tests.e2e.conftest import SECRET, reached, service_process
from tests.server.conftest import serve, server_settings

# Above the service's heartbeat interval (5 s), so only a dead service's run goes stale;
# swept often, so the test waits for the status and not for the sweep's period.
STALE_AFTER = 8.0


def test_a_killed_service_leaves_its_awaiting_run_lost(hoist_home: Path, tmp_path: Path) -> None:
    settings = server_settings(
        hoist_home, service_secret=SECRET, stale_after=STALE_AFTER, maintenance_interval=0.2
    )
    with (
        serve(settings, keepalive=0.5) as live,
        service_process("approve_service.app:app", hoist_home, tmp_path / "svc.log") as svc,
    ):
        identity = {IDENTITY_HEADER: sign(SECRET, "ada", "operator")}
        answer = httpx.post(f"{svc.url}/", json={"topic": "a picnic"}, headers=identity, timeout=30)
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["run_id"]
        awaiting = reached(live.state.store, run_id, RunStatus.AWAITING)
        assert awaiting.meta["user"] == "ada"
        lock = next(e for e in live.state.store.events(run_id) if e.type == "lock")
        assert lock.phase == "open" and lock.name == "review"

        os.kill(svc.proc.pid, signal.SIGKILL)  # no lifespan end, no last words
        assert svc.proc.wait(30) == -signal.SIGKILL

        ended = reached(live.state.store, run_id)
        assert ended.status == RunStatus.LOST, ended.status
        assert "no heartbeat" in str(ended.error)
        # Its lock is gone with it: the server answers 409 and forwards nothing.
        http = live.http(live.token("operator"))
        gone = http.post(f"/api/v1/runs/{run_id}/locks/{lock.lock_id}", json={"values": {}})
        assert gone.status_code == 409, gone.text
