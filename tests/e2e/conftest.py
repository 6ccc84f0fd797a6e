"""End-to-end tests of agent services with every component real: ``hoist service run``
processes, a live Hoist server on the same SQLite home, Ray Serve on the session's Ray
cluster and Debian's chromium through Playwright."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from hoist._net import free_port
from hoist.errors import RunNotFoundError
from hoist.runs.models import Run, RunStatus
from hoist.runs.store import RunStore
from tests.conftest import EXAMPLES, HOIST
from tests.waiting import wait_until

SECRET = "e2e-shared-secret-0123456789"


@dataclass(frozen=True)
class ServiceProcess:
    """A ``hoist service run`` process and the base URL it serves."""

    proc: subprocess.Popen[str]
    url: str
    log: Path

    def said(self) -> str:
        """What the process printed so far."""
        return self.log.read_text()


@contextlib.contextmanager
def service_process(
    app: str, home: Path, log: Path, secret: str = SECRET
) -> Iterator[ServiceProcess]:
    """``hoist service run APP`` from ``examples/`` on a free loopback port, recording
    into ``home``'s store with the shared ``secret``; stopped (SIGINT, then SIGKILL)
    afterwards unless the test already ended it."""
    port = free_port()
    env = {**os.environ, "HOIST_HOME": str(home), "HOIST_SERVICE_SECRET": secret}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*HOIST, "service", "run", app, "--port", str(port), "--log-level", "warning"],
            cwd=EXAMPLES, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        served = ServiceProcess(proc, f"http://127.0.0.1:{port}", log)
        try:
            _wait_up(served)
            yield served
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # uvicorn's graceful stop
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


def _wait_up(served: ServiceProcess) -> None:
    with httpx.Client(timeout=5) as http:

        def up() -> bool:
            if served.proc.poll() is not None:
                raise AssertionError(
                    f"the service exited ({served.proc.returncode}): {served.said()}"
                )
            try:
                return http.get(f"{served.url}/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, 60, f"the service at {served.url}", poll=0.1)


def reached(store: RunStore, run_id: str, *statuses: RunStatus, timeout: float = 60) -> Run:
    """Wait until ``store`` has the run in one of ``statuses`` (any terminal one if
    none); the run. A run not written yet (another process records it) is waited for."""

    def check() -> Run | None:
        try:
            run = store.get_run(run_id)
        except RunNotFoundError:
            return None
        done = run.status in statuses if statuses else run.status.is_terminal
        return run if done else None

    wanted = [str(s) for s in statuses] or ["ended"]
    found = wait_until(check, timeout, f"run {run_id} to be {'/'.join(wanted)}")
    assert found is not None  # wait_until returns only a truthy value
    return found
