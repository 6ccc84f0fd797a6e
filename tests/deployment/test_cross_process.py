"""Deployments across processes: a real `hoist deploy` process serves, and this process (or
another `hoist` process) lists, calls, reads the logs of and stops it; a deploy process
killed with SIGKILL leaves a record that reads ``stopped``; a local deployment is a clear
error elsewhere; ``strategy="auto"``; an endpoint nothing answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist._net import free_port
from hoist.deployment import DeployConfig, EndpointRunner
from hoist.deployment.manager import DeploymentManager
from hoist.deployment.records import DeploymentNotFoundError, DeploymentRecord
from hoist.errors import DeploymentError
from hoist.runs.models import StepEvent
from hoist.runs.runtime import Runtime
from tests.conftest import HOIST, write_files
from tests.deployment.test_process_strategy import PLUGIN_ACTIONS, PLUGIN_CONFIG
from tests.waiting import wait_until

MAIN = """\
def predict(inputs):
    print("predicting", inputs["x"], flush=True)
    return {"y": inputs["x"] * 2}
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_files(tmp_path / "model", {"main.py": MAIN})


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    files = {"config.yaml": PLUGIN_CONFIG, "plugin/__init__.py": "",
             "plugin/actions.py": PLUGIN_ACTIONS}  # fmt: skip
    return write_files(tmp_path / "calc", files)


@pytest.fixture
def mgr(runtime: Runtime) -> Iterator[DeploymentManager]:
    """A manager on the test's store (the same store the `hoist deploy` processes use)."""
    manager = DeploymentManager(runtime, ready_timeout=60)
    yield manager
    manager.close()


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (not reaped by its dead parent yet) is gone too.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rpartition(")")[2].split()[0] == "Z"


@pytest.fixture
def deploys(tmp_path: Path) -> Iterator[Any]:
    """Start `hoist deploy ...` processes (output to files); each one, and any server it
    left, killed at the end by pid."""
    started: list[subprocess.Popen[bytes]] = []
    orphans: list[int] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        out = tmp_path / f"deploy-{len(started)}.out"
        with out.open("wb") as log:
            proc = subprocess.Popen([*HOIST, *args], stdout=log, stderr=subprocess.STDOUT,
                                    env={**os.environ, "COLUMNS": "200"})  # fmt: skip
        started.append(proc)
        return proc

    def kill9(proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the deploy process (its pid only); its servers are cleaned at the end."""
        orphans.extend(_children(proc.pid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    start.kill9 = kill9  # type: ignore[attr-defined]
    yield start
    for proc in started:
        if proc.poll() is None:
            orphans.extend(_children(proc.pid))
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    for pid in orphans:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda pid=pid: _gone(pid), timeout=30, what=f"server {pid} to end")


def _answers(endpoint: str) -> bool:
    try:
        httpx.get(f"{endpoint}/health", timeout=2)
    except httpx.TransportError:
        return False
    return True


def _running(mgr: DeploymentManager, name: str, proc: subprocess.Popen[bytes]) -> DeploymentRecord:
    def ready() -> DeploymentRecord | None:
        assert proc.poll() is None, f"hoist deploy exited with {proc.returncode}"
        try:
            record = mgr.records.get(name)
        except DeploymentNotFoundError:
            return None
        return record if record.status == "running" else None

    return wait_until(ready, timeout=90, what=f"deployment {name} running")


def test_a_process_deployment_is_called_and_read_from_other_processes(
    mgr: DeploymentManager, deploys: Any, code: Path, hoist_proc: Any
) -> None:
    proc = deploys("deploy", str(code), "-s", "process", "--name", "m")
    record = _running(mgr, "m", proc)
    assert record.owner is not None and record.owner.endswith(f":{proc.pid}")
    assert record.endpoint and record.input_schema is None  # a callable takes any object

    called = hoist_proc("deployments", "invoke", "m", "--params", '{"x": 2}')
    assert called.code == 0, called.err
    assert json.loads(called.out) == {"status": "success", "output": {"y": 4}}
    assert mgr.invoke("m", {"x": 3}) == {"status": "success", "output": {"y": 6}}
    failed = mgr.invoke("m", {})  # the server's 500 error envelope, as it is
    assert failed["status"] == "error" and failed["error"]["type"] == "KeyError"
    assert mgr.invoke("m", [1])["error"]["type"] == "TypeError"  # type: ignore[arg-type]
    assert mgr.show("m").health == "healthy"

    assert record.log_path is not None and record.log_path.is_file()
    logs = hoist_proc("deployments", "logs", "m")
    assert logs.code == 0, logs.err
    assert "predicting 2" in logs.out and "predicting 3" in mgr.logs("m")

    deploys.kill9(proc)
    # Its server sees its owner gone and shuts down: nothing serves a stopped record.
    wait_until(lambda: not _answers(record.endpoint), timeout=60, what="the server to stop")
    (listed,) = mgr.list()
    assert (listed.status, listed.health) == ("stopped", "unknown")
    assert listed.error == f"its process {record.owner} exited"
    with pytest.raises(DeploymentError, match=r"is not running .*its process .* exited"):
        mgr.invoke("m", {"x": 1})
    stop = hoist_proc("deployments", "stop", "m")
    assert stop.code == 0, stop.err
    assert f"is stopped (its process {record.owner} exited)" in stop.out
    assert "predicting 3" in mgr.logs("m")  # its log file outlives it


def test_a_plugin_action_deploy_records_its_input_schema(
    mgr: DeploymentManager, deploys: Any, plugin: Path
) -> None:
    proc = deploys("deploy", str(plugin), "-s", "process", "--action", "double", "--name", "calc")
    record = _running(mgr, "calc", proc)
    assert record.input_schema is not None
    assert record.input_schema["properties"]["x"]["type"] == "integer"
    assert record.input_schema["required"] == ["x"]
    assert mgr.invoke("calc", {"x": 4}) == {"status": "success", "output": {"y": 8}}
    invalid = mgr.invoke("calc", {"x": 1000})  # the server's 422 envelope, as it is
    assert invalid["error"]["type"] == "ParamsValidationError"
    assert "x" in invalid["error"]["field_errors"]

    local = mgr.deploy(plugin, "local", name="calc-local", config=DeployConfig(action="double"))
    assert local.input_schema == record.input_schema
    assert mgr.show("calc-local").input_schema == record.input_schema


def test_a_local_deployment_of_another_process_is_a_clear_error(
    mgr: DeploymentManager, deploys: Any, code: Path, hoist_proc: Any
) -> None:
    proc = deploys("deploy", str(code), "-s", "local", "--name", "here")
    record = _running(mgr, "here", proc)
    assert record.endpoint is None
    expected = (f"runs inside process {record.owner}, not this one; call it there, or deploy "
                "with a strategy that has an endpoint (process)")  # fmt: skip
    with pytest.raises(DeploymentError) as caught:
        mgr.invoke("here", {"x": 1})
    assert expected in str(caught.value)
    called = hoist_proc("deployments", "invoke", "here", "--params", '{"x": 1}')
    assert called.code == 1 and expected in " ".join(called.err.split())
    assert mgr.show("here").health == "healthy"  # as recorded: nothing here can ask it
    assert isinstance(mgr.logs("here"), str)  # its log file, empty so far

    stopped = hoist_proc("deployments", "stop", "here")
    assert stopped.code == 0, stopped.err
    assert proc.wait(timeout=30) == 0
    assert mgr.show("here").status == "stopped"


def test_auto_selects_records_the_choice_and_its_reasoning(
    mgr: DeploymentManager, runtime: Runtime, code: Path
) -> None:
    record = mgr.deploy(code, "auto", name="chosen")
    assert record.strategy == "local"  # the highest-priority strategy whose rules match
    assert mgr.invoke("chosen", {"x": 5})["output"] == {"y": 10}
    events = runtime.store.events(record.run_id)
    (select,) = [e for e in events if isinstance(e, StepEvent)
                 and e.step == "select" and e.phase == "finished"]  # fmt: skip
    assert select.detail is not None and "chose local" in select.detail
    assert "process: matched" in select.detail


def test_auto_chooses_the_process_strategy_for_an_app(
    mgr: DeploymentManager, tmp_path: Path
) -> None:
    app = write_files(
        tmp_path / "web", {"web.py": "from fastapi import FastAPI\napp = FastAPI()\n"}
    )
    record = mgr.deploy(app, "auto", config=DeployConfig(app="web:app"), name="web")
    assert (record.strategy, record.status) == ("process", "running")
    assert mgr.records.get("web").strategy == "process"


def test_an_endpoint_nothing_answers_is_a_clear_error(
    mgr: DeploymentManager, code: Path, runtime: Runtime
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    runner = EndpointRunner(endpoint, owner="otherhost:7", strategy="process")
    with pytest.raises(DeploymentError, match=f"cannot reach the deployment at {endpoint}/predict "
                                              r"\(process otherhost:7 serves it\)"):  # fmt: skip
        runner.run({"x": 1})
    assert runner.is_healthy() is False
    with pytest.raises(DeploymentError, match=f"{endpoint}/health"):
        runner.start()
    with pytest.raises(DeploymentError, match="process otherhost:7 runs it; stop it there"):
        runner.stop()

    # A record another machine runs whose endpoint is gone: the manager says where.
    mgr.deploy(code, "process", name="far")
    mgr.close()
    mgr.records.update("far", 1, status="running", owner="otherhost:7", endpoint=endpoint)
    with pytest.raises(DeploymentError, match=f"cannot reach the deployment at {endpoint}"):
        DeploymentManager(runtime).invoke("far", {"x": 1})
    assert DeploymentManager(runtime).show("far").health == "unhealthy"
