"""LocalRayCluster: a private head ends with the driver that started it, leaves no trace
in Ray's shared state, and a driver that stops or loses it is never aborted by Ray."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import need, write_files
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]

START_AND_WAIT = """
from hoist.executors.ray.cluster import LocalRayCluster
import time
cluster = LocalRayCluster(num_cpus=1).start()
print(cluster.pid, flush=True)
time.sleep(600)
"""

NAP_PLUGIN = {
    "config.yaml": (
        "name: Nap\ncode: nap\nactions:\n"
        "  add:\n    entrypoint: plugin.a:Add\n"
        "  nap:\n    entrypoint: plugin.a:Nap\n"
    ),
    "plugin/__init__.py": "",
    "plugin/a.py": """
import time
from pydantic import BaseModel
from hoist import BaseAction


class P(BaseModel):
    a: int = 1
    b: int = 2


class Add(BaseAction[P]):
    def execute(self):
        return {"total": self.params.a + self.params.b}


class Nap(BaseAction[P]):
    def execute(self):  # writes no events: the store stays free for the driver
        for _ in range(1200):
            time.sleep(0.1)
""",
}

# A driver that runs a task-mode call through a compiled graph, then stops its cluster
# ("stop") or loses it while a run is running ("kill": the head's whole process group
# SIGKILLed). Ray aborts a driver still connected to a cluster that went away ("Failed
# to connect to GCS within 60 seconds ... The program will terminate"): this one must
# have left the cluster, and exit 0 after printing the sentinel.
DRIVER = """
import os, signal, sys
import ray
from hoist.errors import RunLostError, RunNotFoundError
from hoist.executors.plugin_runner import plugin_run_options
from hoist.executors.ray.cluster import LocalRayCluster
from hoist.executors.ray.task import RayActorExecutor
from hoist.plugins.discovery import load_plugin
from tests.waiting import wait_until

how, folder = sys.argv[1], sys.argv[2]
cluster = LocalRayCluster(num_cpus=1).start()
executor = RayActorExecutor(address=cluster.address, num_cpus=0.5)
plugin = load_plugin(folder)
add = executor.execute(plugin.load_action("add"), {"a": 1}, **plugin_run_options(plugin, "add"))
assert add == {"total": 3}, add
assert [line.compiled for line in executor._lines.values()] == [True]  # the graph path
if how == "stop":
    cluster.stop()
else:
    store = executor.runtime.store
    handle = executor.submit(plugin.load_action("nap"), {}, **plugin_run_options(plugin, "nap"))

    def status():
        try:
            return store.get_run(handle.run_id).status.value
        except RunNotFoundError:
            return None

    wait_until(lambda: status() == "running", 60, "the nap to run")
    os.killpg(cluster.pid, signal.SIGKILL)
    try:
        handle.result(timeout=60)
    except RunLostError:
        print("LOST", status(), flush=True)
    wait_until(lambda: not ray.is_initialized(), 60, "the driver to leave the lost cluster")
    cluster.stop()
assert not ray.is_initialized()
print("SENTINEL", flush=True)
"""


def _need_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        need("ray is not installed (pip install 'hoist[ray]')")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
        return stat.read().split()[2] != "Z"


def test_a_private_head_ends_when_its_driver_dies_hard() -> None:
    _need_ray()
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
        wait_until(lambda: not _alive(head), 90, "the head to end with its driver", poll=0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head, signal.SIGKILL)  # only the group this test started
        driver.stdout.close()


def test_a_private_head_leaves_no_trace_in_rays_shared_state() -> None:
    """``/tmp/ray/ray_current_cluster`` tells a plain ``ray.init()`` which cluster to
    join: a private head neither replaces it nor leaves it naming a dead address."""
    _need_ray()
    from ray._common.utils import get_ray_address_file

    from hoist.executors.ray.cluster import LOOPBACK_ENV, LocalRayCluster

    os.environ.update(LOOPBACK_ENV)
    record = Path(get_ray_address_file(None))
    before = record.read_bytes() if record.exists() else None
    cluster = LocalRayCluster(num_cpus=1).start()
    try:
        assert cluster.temp_dir is not None
        own = cluster.temp_dir
        assert (own / "ray_current_cluster").read_text().strip() == cluster.address
    finally:
        cluster.stop()
    assert (record.read_bytes() if record.exists() else None) == before
    assert not own.exists()


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_a_driver_that_stops_or_loses_its_cluster_is_not_aborted(how: str, tmp_path: Path) -> None:
    _need_ray()
    from hoist.executors.ray.cluster import LOOPBACK_ENV

    folder = write_files(tmp_path / "nap", NAP_PLUGIN)
    driver = subprocess.run(
        [sys.executable, "-c", DRIVER, how, str(folder)], capture_output=True, text=True,
        env={**os.environ, **LOOPBACK_ENV}, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert driver.returncode == 0, driver.stderr[-3000:]
    lines = driver.stdout.splitlines()
    assert lines[-1] == "SENTINEL"
    if how == "kill":
        assert "LOST lost" in lines  # the run that was running ended lost, on record
