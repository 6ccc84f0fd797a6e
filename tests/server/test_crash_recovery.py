"""A server killed with SIGKILL under load leaves no run ``queued`` or ``running``
without a live owner: a restarted server (or another one sharing PostgreSQL) ends them,
periodically and without anyone looking; cancelling a queued run ends it ``cancelled``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hoist._net import free_port
from hoist.client import HoistClient
from hoist.runs.store import RunStore
from hoist.server.accounts import CredentialStore, UserStore
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import ADMIN_PASSWORD, serve, server_settings, wait_served
from tests.waiting import wait_until

WORKERS = 4  # the server's local executor's threads
SLOW = {"epochs": 1000, "sleep_per_epoch": 0.2}  # 200 s unless cancelled or killed
STALE_AFTER = 1.5  # seconds; the servers' runs heartbeat every 0.5 s
QUICK = {"HOIST_STALE_AFTER": str(STALE_AFTER), "HOIST_MAINTENANCE_INTERVAL": "0.1"}


@contextlib.contextmanager
def hoist_serve(home: Path, database_url: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """``hoist serve`` as a real process on ``home``'s store (or ``database_url``),
    ready when the block starts; ended when it ends (unless the test killed it)."""
    port = free_port()
    env = {**os.environ, **QUICK, "HOIST_HOME": str(home), "HOIST_SERVER_PORT": str(port),
           "HOIST_ADMIN_PASSWORD": ADMIN_PASSWORD}  # fmt: skip
    env.pop("HOIST_DATABASE_URL", None)
    if database_url is not None:
        env["HOIST_DATABASE_URL"] = database_url
    proc = subprocess.Popen(
        [*HOIST, "serve", "--plugins", str(EXAMPLES), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        wait_served(proc, proc.url)  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=30)


def admin_token(store_url: str) -> str:
    """A new API token of the bootstrapped admin, made in the shared store."""
    store = RunStore(store_url)
    try:
        admin = UserStore(store.engine).find("admin")
        assert admin is not None
        return CredentialStore(store.engine).create_token(admin.id, "crash-test")[1]
    finally:
        store.close()


def statuses(client: HoistClient, run_ids: list[str]) -> list[str]:
    return [str(client.get_run(run_id).status) for run_id in run_ids]


def launch_load(client: HoistClient, count: int) -> tuple[list[str], list[str]]:
    """``count`` slow runs (more than the workers); returns (running, queued) ids once
    the first ``WORKERS`` run."""
    ids = [client.launch("sim_train", "train", params=SLOW) for _ in range(count)]
    wait_until(lambda: statuses(client, ids).count("running") == WORKERS, timeout=30,
               what="the workers to start their runs")  # fmt: skip
    now = statuses(client, ids)
    running = [rid for rid, s in zip(ids, now, strict=True) if s == "running"]
    queued = [rid for rid, s in zip(ids, now, strict=True) if s == "queued"]
    assert len(queued) == count - WORKERS
    return running, queued


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)  # the process this test started, by its id
    proc.wait(timeout=30)


def ended(client: HoistClient, run_ids: list[str]) -> dict[str, Any]:
    runs = {run_id: client.get_run(run_id) for run_id in run_ids}
    return runs if all(run.status.is_terminal for run in runs.values()) else {}


def test_a_restarted_server_ends_the_runs_of_the_killed_one(hoist_home: Path) -> None:
    store_url = f"sqlite:///{hoist_home / 'hoist.db'}"
    with hoist_serve(hoist_home) as first:
        client = HoistClient(first.url, admin_token(store_url))  # type: ignore[attr-defined]
        running, queued = launch_load(client, WORKERS + 3)
        kill(first)
        client.close()
    # While no server runs, one stranded queued run is cancelled the way the CLI does
    # it without a server: the store's flag. It must end cancelled, not failed.
    store = RunStore(store_url)
    store.request_cancel(queued[0])
    store.close()
    with hoist_serve(hoist_home) as second:
        client = HoistClient(second.url, admin_token(store_url))  # type: ignore[attr-defined]
        # Nobody opens a stream: the server's own sweeps end every run.
        runs = wait_until(lambda: ended(client, running + queued), timeout=30,
                          what="every run of the killed server to end")  # fmt: skip
        for run_id in running:
            assert runs[run_id].status == "lost"
            assert runs[run_id].error["type"] == "RunLost"
        assert runs[queued[0]].status == "cancelled"
        for run_id in queued[1:]:
            assert runs[run_id].status == "failed"
            assert runs[run_id].error["type"] == "RunNotStarted"
            assert "launch it again" in runs[run_id].error["message"]
        # The log says how each ended, after what was written before the kill.
        events = client.events(running[0])
        assert [e.type for e in events[-2:]] == ["error", "status"]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        client.close()


def test_cancelling_a_queued_run_ends_it_at_once(hoist_home: Path) -> None:
    with serve(server_settings(hoist_home, stale_after=STALE_AFTER)) as live:
        client = live.client("admin")
        running, queued = launch_load(client, WORKERS + 2)
        answer = client.cancel(queued[1])
        assert answer["status"] == "cancelled"  # dropped from the queue, not left waiting
        assert str(client.get_run(queued[1]).status) == "cancelled"
        assert statuses(client, running) == ["running"] * WORKERS  # the workers stay busy
        for run_id in running + queued[:1]:
            client.cancel(run_id)
        wait_until(lambda: ended(client, running + queued), timeout=30,
                   what="the cancelled runs to end")  # fmt: skip
        assert statuses(client, queued) == ["cancelled", "cancelled"]


def test_two_servers_on_postgres_one_killed(hoist_home: Path, postgres_url: str) -> None:
    settings = server_settings(hoist_home, database_url=postgres_url, stale_after=STALE_AFTER,
                               maintenance_interval=0.1)  # fmt: skip
    with serve(settings) as other, hoist_serve(hoist_home / "a", postgres_url) as doomed:
        on_other = other.client("admin")
        on_doomed = HoistClient(doomed.url, admin_token(postgres_url))  # type: ignore[attr-defined]
        running, queued = launch_load(on_doomed, WORKERS + 3)
        own = on_other.launch("sim_train", "train", params=SLOW)
        # A cancel through one server of a run queued on another, live one: the owner
        # drops it from its queue at its next sweep.
        on_other.cancel(queued[0])
        wait_until(lambda: str(on_other.get_run(queued[0]).status) == "cancelled",
                   timeout=10, what="the owner to drop the cancelled run")  # fmt: skip
        assert statuses(on_other, running) == ["running"] * WORKERS
        kill(doomed)
        on_doomed.close()
        # A cancel of a run queued on the dead server (its heartbeat still fresh): it
        # ends cancelled once the survivor sees the owner is gone.
        assert on_other.cancel(queued[1])["cancel_requested"] is True
        runs = wait_until(lambda: ended(on_other, running + queued[1:]), timeout=30,
                          what="the surviving server to end the killed one's runs")  # fmt: skip
        assert {str(runs[r].status) for r in running} == {"lost"}
        assert str(runs[queued[1]].status) == "cancelled"
        assert {str(runs[r].status) for r in queued[2:]} == {"failed"}
        # The survivor's own run, heartbeated all along, was left alone.
        assert str(on_other.get_run(own).status) == "running"
        on_other.cancel(own)
        wait_until(lambda: ended(on_other, [own]), timeout=30, what="its own run to end")
