"""Start and stop a private Ray head node on loopback (for tests and local trials).

The head runs ``ray start --head --block`` in its own process group on free loopback
ports, with token authentication off (``RAY_AUTH_MODE=disabled``) because nothing but
this machine can reach it; :meth:`LocalRayCluster.stop` ends exactly that process group.
It never runs ``ray stop``, which would stop every cluster on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist.errors import HoistError

__all__ = ["LOOPBACK_ENV", "LocalRayCluster", "free_port"]

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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalRayCluster:
    """A Ray head node on loopback, started by :meth:`start`.

    Attributes:
        num_cpus: CPUs the head offers.
        gcs_port, dashboard_port: chosen free ports.
    """

    num_cpus: int = 2
    gcs_port: int = field(default_factory=free_port)
    dashboard_port: int = field(default_factory=free_port)
    temp_dir: Path | None = None
    _proc: subprocess.Popen[str] | None = None
    _log: Any = None

    @property
    def address(self) -> str:
        """The GCS address drivers connect to."""
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        """The dashboard (and Jobs API) URL."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start(self, timeout: float = 90.0) -> LocalRayCluster:
        """Start the head and wait until its Jobs API answers."""
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
            f"--num-cpus={self.num_cpus}", "--disable-usage-stats",
            *(f"--{name}={port}" for name, port in ports.items()),
        ]  # fmt: skip
        if self.temp_dir is not None:
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
                    return self
            except OSError:
                if self._proc.poll() is not None:
                    output = Path(log.name).read_text()[-2000:]
                    self.stop()
                    raise HoistError(f"ray head failed to start:\n{output}") from None
                if time.monotonic() > deadline:
                    self.stop()
                    raise HoistError(f"ray head did not answer within {timeout:.0f}s") from None
                time.sleep(0.3)

    def stop(self, timeout: float = 60.0) -> None:
        """End the head's process group (only what :meth:`start` started)."""
        proc, self._proc = self._proc, None
        log, self._log = self._log, None
        if log is not None:
            log.close()
            Path(log.name).unlink(missing_ok=True)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
