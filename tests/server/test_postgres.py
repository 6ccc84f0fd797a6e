"""Several server processes on one PostgreSQL store work side by side: shared accounts,
sessions, login limits, and live streams of runs launched by another server."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.client import RateLimitedError
from hoist.runs.models import RunStatus
from tests.server.conftest import ADMIN_PASSWORD, serve, server_settings

pytestmark = pytest.mark.postgres


def test_two_servers_share_one_postgres_store(postgres_url: str, tmp_path: Path) -> None:
    shared = {"database_url": postgres_url, "secret_key": "k" * 48}
    with (
        serve(server_settings(tmp_path / "a", **shared)) as one,
        serve(server_settings(tmp_path / "b", **shared)) as two,
    ):
        assert [u.username for u in one.state.users.list()] == ["admin"]  # created once
        token = one.token("operator")
        on_one, on_two = one.client_with(token), two.client_with(token)
        run_id = on_one.launch("sim_train", "train", params={"epochs": 20,
                                                            "sleep_per_epoch": 0.01})  # fmt: skip
        seqs = [e.seq for e in on_two.stream_events(run_id)]  # B polls what A writes
        assert seqs == list(range(1, len(seqs) + 1))
        assert on_two.get_run(run_id).status is RunStatus.SUCCEEDED
        # A session opened on one server is valid on the other; logout ends it on both.
        browser = one.client_with(None)
        browser.login("admin", ADMIN_PASSWORD)
        cookie = browser._http.cookies["hoist_session"]
        other = two.http(cookies={"hoist_session": cookie})
        assert other.get("/api/v1/auth/me").status_code == 200
        browser.logout()
        assert other.get("/api/v1/auth/me").status_code == 401
        # Failed logins count across servers.
        for client in [one.client_with(None) for _ in range(5)]:
            with pytest.raises(Exception, match="401"):
                client.login("admin", "wrong")
        with pytest.raises(RateLimitedError):
            two.client_with(None).login("admin", "wrong")


def test_ingest_is_idempotent_on_postgres(postgres_url: str) -> None:
    import time

    from hoist.runs.models import LogEvent, Run, StatusEvent
    from hoist.runs.store import RunStore

    store = RunStore(postgres_url)
    run = Run(id="pgremote000000000000001")
    events = [
        StatusEvent(run_id=run.id, seq=1, ts=time.time(), status=RunStatus.RUNNING),
        LogEvent(run_id=run.id, seq=2, ts=time.time(), message="hi"),
    ]
    assert store.ingest([run], events) == (1, 2)
    end = StatusEvent(run_id=run.id, seq=3, ts=time.time(), status=RunStatus.SUCCEEDED)
    assert store.ingest([], [end]) == (0, 1)
    assert store.ingest([run], events) == (0, 0)
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED
    found = store.events_after({run.id: 1, "other": 0})
    assert [e.seq for e in found] == [2, 3]
    assert store.active_runs() == {}
    store.close()
