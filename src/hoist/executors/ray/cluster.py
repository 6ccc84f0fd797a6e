"""Start and stop a private Ray head node on loopback (for tests and local trials).

The head runs ``ray start --head --block`` in its own process group on free loopback
ports, with token authentication off (``RAY_AUTH_MODE=disabled``) because nothing but
this machine can reach it; :meth:`LocalRayCluster.stop` ends exactly that process group.
It never runs ``ray stop``, which would stop every cluster on the machine.

A private head leaves no trace in Ray's shared state: it gets its own ``--temp-dir``, so
its session files and its ``ray_current_cluster`` record (which a plain ``ray.init()``
reads to find "the" cluster of this machine) stay out of ``/tmp/ray``, and the folder is
removed when it stops. Before the head stops, this process leaves it in order (compiled
graphs and actors first, see :func:`~hoist.executors.ray.connect.disconnect`): a driver
still connected to a stopped cluster is aborted by Ray a minute later.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist._net import free_port
from hoist.errors import HoistError
from hoist.executors.ray.connect import disconnect

__all__ = ["LOOPBACK_ENV", "LocalRayCluster", "private_temp_dir"]

LOOPBACK_ENV = {
    "RAY_AUTH_MODE": "disabled",
    # Keep Ray on 127.0.0.1: by default it swaps loopback for the machine's address.
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
}
"""Environment for a private loopback cluster and its drivers."""


def _end_with_parent() -> None:
    """In the head's process, before ``ray start`` runs: on Linux, ask the kernel for a
    SIGTERM when the thread that started it goes away, so a driver that dies hard (killed,
    or aborted by Ray itself) does not leave its private cluster running. ``ray start
    --block`` stops its own processes on SIGTERM. Elsewhere: nothing (stop() still works).
    """
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class LocalRayCluster:
    """A Ray head node on loopback, started by :meth:`start`.

    Attributes:
        num_cpus: CPUs the head offers.
        num_gpus: GPUs the head offers (Ray counts what it is told: a head may declare
            GPUs a test's actors ask for).
        gcs_port, dashboard_port: chosen free ports.
        temp_dir: Ray's folder for this head (sessions, logs, sockets); default: a new
            short folder under the system temp folder, removed by :meth:`stop`.
    """

    num_cpus: int = 2
    num_gpus: int = 0
    gcs_port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)
    temp_dir: Path | None = None
    _proc: subprocess.Popen[str] | None = None
    _log: Any = None
    _own_temp_dir: Path | None = None

    @property
    def address(self) -> str:
        """The GCS address drivers connect to."""
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def pid(self) -> int | None:
        """The ``ray start`` process (leader of the head's process group) while started."""
        return None if self._proc is None else self._proc.pid

    @property
    def dashboard_url(self) -> str:
        """The dashboard (and Jobs API) URL."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start(self, timeout: float = 90.0) -> LocalRayCluster:
        """Start the head and wait until its Jobs API answers and ``ray start`` is done."""
        ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
        if ray is None:
            raise HoistError("the 'ray' command is missing: pip install 'hoist[ray]'")
        ports = {name: free_port() for name in (
            "node-manager-port", "object-manager-port", "metrics-export-port",
            "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
            "runtime-env-agent-port", "ray-client-server-port",
        )}  # fmt: skip
        args = [
            ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1",
            f"--port={self.gcs_port}", f"--dashboard-port={self.dashboard_port}",
            "--dashboard-host=127.0.0.1", "--include-dashboard=true",
            f"--num-cpus={self.num_cpus}", f"--num-gpus={self.num_gpus}", "--disable-usage-stats",
            *(f"--{name}={port}" for name, port in ports.items()),
        ]  # fmt: skip
        if self.temp_dir is None:
            self._own_temp_dir = self.temp_dir = private_temp_dir()
        args.append(f"--temp-dir={self.temp_dir}")
        # The head's own output goes to a file: a pipe nobody drains would fill and block it.
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            "w+", prefix="hoist-ray-head-", suffix=".log", delete=False
        )
        self._log = log
        self._proc = subprocess.Popen(
            args,
            env={**os.environ, **LOOPBACK_ENV},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.dashboard_url}/api/version", timeout=1):
                    pass
                if self._started():
                    return self
                raise OSError("still starting")
            except OSError:
                if self._proc.poll() is not None:
                    output = Path(log.name).read_text()[-2000:]
                    self.stop()
                    raise HoistError(f"ray head failed to start:\n{output}") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise HoistError(f"ray head did not answer within {timeout:.0f}s") from None
                time.sleep(0.3)

    def _started(self) -> bool:
        """``ray start`` records the head's address in its temp folder last of all."""
        record = self.temp_dir and self.temp_dir / "ray_current_cluster"
        with contextlib.suppress(OSError):
            return record is not None and record.read_text().strip() == self.address
        return False

    def stop(self, timeout: float = 30.0) -> None:
        """End the head's process group (only what :meth:`start` started).

        If this process is connected to the head, it leaves first (its compiled graphs
        and actors are torn down while the cluster can still answer).
        """
        if self._proc is not None:
            disconnect(self.address)
        proc, self._proc = self._proc, None
        log, self._log = self._log, None
        if log is not None:
            log.close()
            Path(log.name).unlink(missing_ok=True)
        try:
            if proc is not None:
                _end_group(proc, timeout)
        finally:
            own, self._own_temp_dir = self._own_temp_dir, None
            if own is not None:
                self.temp_dir = None
                shutil.rmtree(own, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _end_group(proc: subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM to ``ray start`` alone (it stops its raylet and GCS in order, in seconds;
    the whole group at once takes half a minute), then SIGKILL to whatever is left of its
    process group (the dashboard's subprocesses outlive it)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def private_temp_dir() -> Path:
    """A new folder for one private head's Ray files.

    Short on purpose: Ray puts unix sockets under ``<folder>/session_<date>_<pid>/
    sockets/``, and a socket path may not exceed 107 bytes.
    """
    base = tempfile.gettempdir()
    if len(base) > _MAX_TEMP_BASE:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix="hoist-ray-", dir=base))


_MAX_TEMP_BASE = 24
"""Longest base folder for :func:`private_temp_dir` (107 bytes, less ``/hoist-ray-XXXXXXXX``,
``/session_2026-01-01_00-00-00_000000_4194304``, ``/sockets/plasma_store``)."""
