"""A run store that stops accepting writes (its SQLite files made immutable, which stops
root too): the CLI says so once and exits at once with what was written kept; the
server answers 503 at once; both recover by themselves when it is writable again."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES, HOIST
from tests.server.conftest import ADMIN_PASSWORD, serve, server_settings
from tests.waiting import wait_until

from hoist.errors import StoreUnwritableError
from hoist.runs.models import LogEvent, Run, RunKind, RunStatus
from hoist.runs.sinks.store import StoreSink
from hoist.runs.store import RunStore

API = "/api/v1"
MakeReadOnly = Callable[[bool], None]


def test_the_sink_reports_a_read_only_store_at_once_and_recovers(
    hoist_home: Path, read_only_sqlite: MakeReadOnly, caplog: pytest.LogCaptureFixture
) -> None:
    store = RunStore(f"sqlite:///{hoist_home / 'hoist.db'}")
    sink = StoreSink(store, refused_retry=0.05)
    run = Run(id="r1", kind=RunKind.ACTION, mode="local", params={})
    sink.open_run(run)
    sink.flush()
    read_only_sqlite(True)
    for seq in (1, 2, 3):
        sink.emit(LogEvent(run_id="r1", seq=seq, ts=time.time(), level="info", message="x"))
    with pytest.raises(StoreUnwritableError) as raised:
        sink.flush(timeout=None)  # no timeout: it must not wait for a refusing store
    assert raised.value.target == f"run store {store.safe_url}" and raised.value.unwritten == 3
    assert "hoist.db" in str(raised.value) and "not writable" in str(raised.value)
    with pytest.raises(StoreUnwritableError):  # every flush meanwhile, at once
        sink.flush(timeout=None)
    # The writer retries slowly meanwhile; it said so once.
    wait_until(lambda: sum("not writable" in r.message for r in caplog.records) >= 1)
    read_only_sqlite(False)
    wait_until(lambda: store.count_events("r1") == 3, what="the kept events to be written")
    sink.flush()
    assert [e.seq for e in store.events("r1")] == [1, 2, 3]
    assert sum("not writable" in r.message for r in caplog.records) == 1
    sink.close()
    store.close()


def test_hoist_run_fails_fast_when_the_store_stops_accepting_writes(
    hoist_home: Path, read_only_sqlite: MakeReadOnly
) -> None:
    store = RunStore(f"sqlite:///{hoist_home / 'hoist.db'}")
    env = {**os.environ, "HOIST_HOME": str(hoist_home)}
    proc = subprocess.Popen(
        [*HOIST, "run", str(EXAMPLES / "sim_train"), "train", "--quiet",
         "-p", "epochs=1000", "-p", "sleep_per_epoch=0.05"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def progressing() -> list[Run]:
            runs = store.list_runs()
            return [r for r in runs if r.status is RunStatus.RUNNING and store.count_events(r.id)]

        run = wait_until(progressing, timeout=60, what="the run to write events")[0]
        read_only_sqlite(True)
        acknowledged = store.count_events(run.id)
        refused_at = time.monotonic()
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - refused_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    print(f"hoist run exited {took:.2f}s after its store became read-only")
    assert proc.returncode == 1, err
    said = [line for line in err.splitlines() if "not writable" in line]
    assert len(said) == 1, err  # once, clearly, naming where
    assert f"run {run.id} stopped" in said[0] and str(hoist_home / "hoist.db") in said[0]
    assert "will retry" not in err and "Traceback" not in err
    # What was written before the store refused writes is all there, in order.
    events = store.events(run.id)
    assert len(events) >= acknowledged
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    read_only_sqlite(False)
    store.close()


def test_the_server_answers_503_at_once_and_recovers(
    hoist_home: Path, read_only_sqlite: MakeReadOnly
) -> None:
    with serve(server_settings(hoist_home)) as live:
        http = live.http(live.token("admin"))
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        launch = {"plugin": "sim_train", "action": "train", "params": {"epochs": 2}}
        assert http.post(f"{API}/runs", json=launch).status_code == 202
        read_only_sqlite(True)
        started = time.monotonic()
        answer = http.post(f"{API}/runs", json=launch)
        took = time.monotonic() - started
        print(f"launch on a read-only store answered {answer.status_code} in {took:.3f}s")
        assert answer.status_code == 503, answer.text
        assert answer.json()["detail"] == "the run store is not writable"
        assert answer.headers["retry-after"] and "hoist.db" not in answer.text
        assert http.post(f"{API}/auth/login", json=login).status_code == 503
        read_only_sqlite(False)
        # Recovered by itself: a launch is stored and runs to its end.
        run_id = http.post(f"{API}/runs", json=launch).json()["run_id"]
        client = live.client("admin")
        wait_until(lambda: client.get_run(run_id).status is RunStatus.SUCCEEDED, timeout=30,
                   what="a launch after recovery to succeed")  # fmt: skip
        assert http.post(f"{API}/auth/login", json=login).status_code == 200
