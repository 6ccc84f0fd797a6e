"""LocalRayCluster: a private head ends with the driver that started it."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time

from tests.conftest import need

START_AND_WAIT = """
from hoist.executors.ray.cluster import LocalRayCluster
import time
cluster = LocalRayCluster(num_cpus=1).start()
print(cluster._proc.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
        return stat.read().split()[2] != "Z"


def test_a_private_head_ends_when_its_driver_dies_hard() -> None:
    if importlib.util.find_spec("ray") is None:
        need("ray is not installed (pip install 'hoist[ray]')")
    if not sys.platform.startswith("linux"):
        need("the parent-death signal is Linux only")
    from hoist.executors.ray.cluster import LOOPBACK_ENV

    driver = subprocess.Popen(
        [sys.executable, "-c", START_AND_WAIT], stdout=subprocess.PIPE, text=True,
        env={**os.environ, **LOOPBACK_ENV},
    )  # fmt: skip
    assert driver.stdout is not None
    head = int(driver.stdout.readline())
    try:
        driver.kill()  # SIGKILL: no cleanup code runs in the driver
        driver.wait(30)
        deadline = time.monotonic() + 90
        while _alive(head):
            assert time.monotonic() < deadline, "the head outlived its driver"
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head, signal.SIGKILL)  # only the group this test started
        driver.stdout.close()
