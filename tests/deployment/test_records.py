"""Deployments as records: each deploy a ``deployment`` run with its steps, a versioned
record with a code snapshot, rollback from a snapshot, and a failed deploy that leaves the
running version serving. Real local workers and real uvicorn servers, stopped by each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hoist.deployment import DeployConfig
from hoist.deployment import manager as api
from hoist.deployment.manager import DeploymentManager
from hoist.deployment.records import DeploymentNotFoundError, DeploymentRecords
from hoist.errors import DeploymentError, StrategyNotFoundError, UserInputError
from hoist.runs.models import ErrorEvent, ProgressEvent, RunKind, RunStatus, StepEvent
from hoist.runs.runtime import Runtime
from tests.conftest import write_files

V1 = "def predict(inputs):\n    return {'version': 1, 'x': inputs.get('x')}\n"
V2 = "def predict(inputs):\n    return {'version': 2, 'x': inputs.get('x')}\n"


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_files(tmp_path / "model", {"main.py": V1})


@pytest.fixture
def mgr(runtime: Runtime) -> Iterator[DeploymentManager]:
    """A manager on the test's store; every deployment it runs stopped at the end."""
    manager = DeploymentManager(runtime, ready_timeout=30)
    yield manager
    manager.close()


def test_a_deploy_is_a_run_with_its_steps_and_a_record(
    mgr: DeploymentManager, runtime: Runtime, code: Path, hoist_home: Path
) -> None:
    record = mgr.deploy(code, "local")
    assert (record.name, record.version, record.strategy) == ("model", 1, "local")
    assert (record.status, record.health, record.owner) == ("running", "healthy", mgr.owner)
    assert Path(record.snapshot) == hoist_home / "deployments" / "model" / "1"
    assert (Path(record.snapshot) / "main.py").read_text() == V1

    run = runtime.store.get_run(record.run_id)
    assert run.kind == RunKind.DEPLOYMENT and run.status == RunStatus.SUCCEEDED
    assert run.meta["deployment"] == "model" and run.result["version"] == 1
    events = runtime.store.events(record.run_id)
    finished = [e.step for e in events if isinstance(e, StepEvent) and e.phase == "finished"]
    assert finished == ["select", "snapshot", "build", "start", "health"]
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert (progress[-1].current, progress[-1].total) == (5, 5)

    answer = mgr.invoke("model", {"x": 3})
    assert answer == {"status": "success", "output": {"version": 1, "x": 3}}
    assert mgr.show("model") == mgr.list()[0]
    assert "model" in DeploymentRecords(runtime.store.engine).names()


def test_each_deploy_is_a_new_version_and_rollback_returns_to_a_snapshot(
    mgr: DeploymentManager, runtime: Runtime, code: Path
) -> None:
    first = mgr.deploy(code, "local", name="m")
    (code / "main.py").write_text(V2)  # the snapshot of v1 must not see this
    second = mgr.deploy(code, "local", name="m")
    assert second.version == 2
    assert mgr.invoke("m", {"x": 1})["output"]["version"] == 2
    assert mgr.show("m", 1).status == "replaced"
    assert (Path(first.snapshot) / "main.py").read_text() == V1

    back = mgr.rollback("m")
    assert (back.version, back.status) == (1, "running")
    assert back.run_id not in (first.run_id, second.run_id)
    assert runtime.store.get_run(back.run_id).params["rollback_to"] == 1
    assert mgr.invoke("m", {"x": 1})["output"]["version"] == 1
    assert [(r.version, r.status) for r in mgr.versions("m")] == [(1, "running"), (2, "replaced")]
    skipped = [e for e in runtime.store.events(back.run_id) if isinstance(e, StepEvent)]
    assert ("snapshot", "skipped") in [(e.step, e.phase) for e in skipped]

    assert mgr.rollback("m", version=2).version == 2
    assert mgr.invoke("m", {})["output"]["version"] == 2


def test_a_failed_deploy_leaves_the_running_version_serving(
    mgr: DeploymentManager, runtime: Runtime, code: Path
) -> None:
    first = mgr.deploy(code, "process", name="web")
    assert first.endpoint and first.endpoint.startswith("http://127.0.0.1:")
    (code / "main.py").write_text("def predict(inputs):\n    return (\n")  # a syntax error

    with pytest.raises(DeploymentError, match=r"'web' v2 failed at step 'start'") as failed:
        mgr.deploy(code, "process", name="web")
    assert "SyntaxError" in str(failed.value)

    broken = mgr.show("web", 2)
    assert broken.status == "failed" and broken.error and broken.error.startswith("start: ")
    run = runtime.store.get_run(broken.run_id)
    assert run.status == RunStatus.FAILED and run.error is not None
    assert any(isinstance(e, ErrorEvent) for e in runtime.store.events(broken.run_id))

    assert mgr.show("web").version == 1 and mgr.show("web").status == "running"
    assert mgr.invoke("web", {"x": 2})["output"] == {"version": 1, "x": 2}
    assert httpx.get(f"{first.endpoint}/health").status_code == 200
    with pytest.raises(UserInputError, match="v2: its deploy failed"):
        mgr.rollback("web", version=2)


def test_stop_and_close_stop_the_runner_and_say_so(
    runtime: Runtime, code: Path, tmp_path: Path
) -> None:
    mgr = DeploymentManager(runtime)
    one = mgr.deploy(code, "process", name="one")
    mgr.deploy(code, "local", name="two")
    stopped = mgr.stop("one")
    assert stopped.status == "stopped"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{one.endpoint}/health")
    with pytest.raises(DeploymentError, match="'one' is not running \\(v1 is stopped\\)"):
        mgr.invoke("one", {})
    assert mgr.stop("one").status == "stopped"  # stopping again changes nothing
    mgr.close()
    assert mgr.records.get("two").status == "stopped"


def test_a_deployment_another_process_runs_is_a_clear_error(
    mgr: DeploymentManager, runtime: Runtime, code: Path
) -> None:
    mgr.deploy(code, "local", name="theirs")
    mgr.records.update("theirs", 1, owner="otherhost:4242")
    here = DeploymentManager(runtime)  # runs nothing
    for call in (lambda: here.invoke("theirs", {}), lambda: here.stop("theirs")):
        with pytest.raises(DeploymentError, match="runs inside process otherhost:4242, not this"):
            call()
    with pytest.raises(DeploymentError, match="call it there, or deploy with a strategy that"):
        here.invoke("theirs", {})
    assert isinstance(here.logs("theirs"), str)  # its log file's tail


def test_the_process_api_uses_the_runtime_manager(code: Path) -> None:
    record = api.deploy(code, "local", config=DeployConfig(env_vars={"A": "1"}))
    assert api.show(record.name).config == {"env_vars": {"A": "1"}}
    assert api.invoke(record.name, {"x": 5})["output"]["x"] == 5
    assert [r.name for r in api.list()] == ["model"]
    assert isinstance(api.logs(record.name), str)
    assert api.stop(record.name).status == "stopped"


def test_bad_input_is_a_clear_error_and_records_nothing(
    mgr: DeploymentManager, code: Path, tmp_path: Path
) -> None:
    with pytest.raises(UserInputError, match="is not a folder"):
        mgr.deploy(tmp_path / "nowhere", "local")
    for bad in ("../up", "", "a b", "x" * 101):
        with pytest.raises(UserInputError, match="invalid deployment name"):
            mgr.deploy(code, "local", name=bad)
    with pytest.raises(StrategyNotFoundError, match="did you mean 'local'"):
        mgr.deploy(code, "locale")
    with pytest.raises(TypeError, match="config must be a DeployConfig"):
        mgr.deploy(code, "local", config={"module": "main"})  # type: ignore[arg-type]
    assert mgr.list() == []

    with pytest.raises(DeploymentNotFoundError, match="unknown deployment 'ghost'"):
        mgr.show("ghost")
    mgr.deploy(code, "local")
    with pytest.raises(DeploymentNotFoundError, match=r"'model v7'.*model v1"):
        mgr.show("model", 7)
    with pytest.raises(DeploymentNotFoundError, match="did you mean 'model'"):
        mgr.invoke("modle", {})
    with pytest.raises(UserInputError, match="no earlier version that ran"):
        mgr.rollback("model")
    with pytest.raises(UserInputError, match="v1 is running already"):
        mgr.rollback("model", version=1)
