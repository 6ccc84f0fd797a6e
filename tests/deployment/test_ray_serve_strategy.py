"""The ``ray_serve`` strategy end to end on the session's real Ray cluster (a private
loopback head): real Serve applications, called through their handle and over the real
HTTP proxy, deleted by each test."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need, write_files

# Not imported here: Ray reads its loopback settings once, at import (the cluster fixture
# sets them first).
if importlib.util.find_spec("ray") is None:
    need("ray is not installed (pip install 'ray[serve]')")
import httpx

from hoist.deployment.serving import app_status, ensure_serve
from hoist.deployment.strategies.ray_serve import RayServeRunner
from hoist.errors import DeploymentError
from hoist.runs.models import Run
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import get_runtime
from tests.deployment.test_process_strategy import (
    APP,
    PLUGIN_ACTIONS,
    PLUGIN_CONFIG,
)
from tests.waiting import wait_until

STRATEGY = "ray_serve"

MAIN = """
import os
import threading

def where(inputs):
    return threading.current_thread().name

def predict(inputs):
    if inputs.get("boom"):
        raise ValueError("boom!")
    return {"y": inputs.get("x", 0) * 2, "env": os.environ.get("MY_VAR")}
"""

BROKEN = """
class Model:
    def __init__(self):
        raise RuntimeError("the model file weights.bin is missing")

MODEL = Model()

def predict(inputs):
    return MODEL
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_files(tmp_path / "code", {"main.py": MAIN, "web.py": APP})


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    files = {
        "config.yaml": PLUGIN_CONFIG,
        "plugin/__init__.py": "",
        "plugin/actions.py": PLUGIN_ACTIONS,
    }
    return write_files(tmp_path / "calc", files)


@pytest.fixture
def runners(ray_cluster: Any) -> Iterator[list[RayServeRunner]]:
    """Runners the test made; every one stopped (its application deleted) at the end."""
    made: list[RayServeRunner] = []
    yield made
    for runner in made:
        runner.stop()


def make(runners: list[RayServeRunner], cluster: Any, **kwargs: Any) -> RayServeRunner:
    runner = RayServeRunner(address=cluster.address, deploy_timeout=90, **kwargs)
    runners.append(runner)
    return runner


def deployment_config(app_name: str) -> dict[str, Any]:
    from ray.serve.context import _get_global_client

    details = _get_global_client().get_serve_details()
    config: dict[str, Any] = details["applications"][app_name]["deployments"]["hoist"][
        "deployment_config"
    ]
    return config


def test_callable_env_vars_and_settings(
    ray_cluster: Any, code: Path, runners: list[RayServeRunner]
) -> None:
    runner = make(runners, ray_cluster, code_path=str(code), env_vars={"MY_VAR": "from-hoist"})
    runner.start()
    # env_vars reach the replica (through the runtime_env, not this process).
    assert runner.run({"x": 21}) == {"status": "success", "output": {"y": 42, "env": "from-hoist"}}
    failed = runner.run({"boom": True})
    assert failed["status"] == "error"
    assert failed["error"] == {"type": "ValueError", "message": "boom!"}
    # The same answers over Serve's HTTP proxy.
    answer = httpx.post(f"{runner.endpoint}/predict", json={"x": 2}, timeout=30)
    assert answer.status_code == 200
    assert answer.json() == {"status": "success", "output": {"y": 4, "env": "from-hoist"}}
    assert httpx.post(f"{runner.endpoint}/predict", json={"boom": 1}, timeout=30).status_code == 500
    assert httpx.get(f"{runner.endpoint}/health", timeout=30).json() == {"status": "ok"}
    bad = httpx.post(f"{runner.endpoint}/predict", content=b"[1, 2]", timeout=30)
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "InvalidInputs"
    # Once warm, calls go through the DeploymentHandle, with the same answers.
    wait_until(lambda: runner.calls_through == "handle", what="the handle warmed up")
    assert runner.run({"x": 21}) == {"status": "success", "output": {"y": 42, "env": "from-hoist"}}
    assert runner.run({"boom": True})["error"] == {"type": "ValueError", "message": "boom!"}
    # Serve's default of 5 ongoing requests collapses under load: the config's 100 is set.
    assert deployment_config(runner.app_name)["max_ongoing_requests"] == 100
    assert runner.input_schema() is None


def test_settings_reach_serve(ray_cluster: Any, code: Path, runners: list[RayServeRunner]) -> None:
    runner = make(runners, ray_cluster, code_path=str(code), max_ongoing_requests=37,
                  num_replicas=2, resources={"cpu": "0.25"})  # fmt: skip
    runner.start()
    config = deployment_config(runner.app_name)
    assert config["max_ongoing_requests"] == 37
    assert config["num_replicas"] == 2
    assert config["ray_actor_options"]["num_cpus"] == 0.25
    assert runner.run({"x": 1})["status"] == "success"


def test_a_sync_callable_runs_on_a_thread_unless_told_not_to(
    ray_cluster: Any, code: Path, runners: list[RayServeRunner]
) -> None:
    threaded = make(runners, ray_cluster, code_path=str(code), callable="where",
                    app_name="threaded", resources={"cpu": "0.25"})  # fmt: skip
    inline = make(runners, ray_cluster, code_path=str(code), callable="where",
                  app_name="inline", sync_in_thread=False, resources={"cpu": "0.25"})  # fmt: skip
    assert threaded.run({})["output"].startswith("hoist-call")
    assert not inline.run({})["output"].startswith("hoist-call")


def test_plugin_action_validates_its_params(
    ray_cluster: Any, plugin: Path, runners: list[RayServeRunner]
) -> None:
    runner = make(runners, ray_cluster, code_path=str(plugin), action="double")
    runner.start()
    assert runner.run({"x": 4}) == {"status": "success", "output": {"y": 8}}
    schema = runner.input_schema()
    assert schema is not None and "x" in schema["properties"]
    for inputs in ({"x": 1000}, {}, {"x": "many"}):
        answer = runner.run(inputs)
        assert answer["status"] == "error"
        assert answer["error"]["type"] == "ParamsValidationError"
        assert list(answer["error"]["field_errors"]) == ["x"]
    http = httpx.post(f"{runner.endpoint}/predict", json={"x": 1000}, timeout=30)
    assert http.status_code == 422
    assert list(http.json()["error"]["field_errors"]) == ["x"]

    def recorded() -> list[Run]:
        runs = get_runtime().store.list_runs(RunFilter(kind="action"))
        return [r for r in runs if r.status.value == "succeeded"]

    (run,) = wait_until(recorded, what="the call recorded as a succeeded action run")
    assert run.meta["deployment"] == {"strategy": "ray-serve", "action": "double"}


def test_plugin_action_that_raises(
    ray_cluster: Any, plugin: Path, runners: list[RayServeRunner]
) -> None:
    runner = make(runners, ray_cluster, code_path=str(plugin), action="explode")
    answer = runner.run({"x": 3})  # deploys first
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "plugin.actions.ExplodeError"
    assert answer["error"]["message"] == "exploded at 3"


def test_asgi_app(ray_cluster: Any, code: Path, runners: list[RayServeRunner]) -> None:
    runner = make(runners, ray_cluster, code_path=str(code), app="web:app", path="/echo")
    runner.start()
    assert runner.is_healthy()
    assert runner.run({"a": 1}) == {"status": "success", "output": {"echo": {"a": 1}}}
    assert runner.run({"a": 1}) == runner.run({"a": 1})
    answer = httpx.post(f"{runner.endpoint}/echo", json={"b": 2}, timeout=30)
    assert answer.json() == {"echo": {"b": 2}}


def test_a_raising_constructor_fails_the_deploy_and_leaves_nothing(
    ray_cluster: Any, tmp_path: Path, runners: list[RayServeRunner]
) -> None:
    broken = write_files(tmp_path / "broken", {"main.py": BROKEN})
    runner = make(runners, ray_cluster, code_path=str(broken))
    with pytest.raises(DeploymentError) as caught:
        runner.start()
    message = str(caught.value)
    assert "RuntimeError: the model file weights.bin is missing" in message
    assert runner.app_name in message
    assert app_status(runner.app_name) == ("NOT_FOUND", "")
    assert not runner.is_healthy()


def test_an_import_error_fails_the_deploy(
    ray_cluster: Any, code: Path, runners: list[RayServeRunner]
) -> None:
    runner = make(runners, ray_cluster, code_path=str(code), module="missing_module")
    with pytest.raises(DeploymentError, match="missing_module"):
        runner.start()
    assert app_status(runner.app_name)[0] == "NOT_FOUND"


def test_stop_deletes_and_attach_controls_from_the_record(
    ray_cluster: Any, code: Path, runners: list[RayServeRunner]
) -> None:
    runner = make(runners, ray_cluster, code_path=str(code))
    runner.start()
    assert app_status(runner.app_name)[0] == "RUNNING"

    class Record:  # what another process reads from the store
        endpoint = runner.endpoint
        snapshot = str(code)
        config = runner.record_config()

    attached = RayServeRunner.attach(Record())  # type: ignore[arg-type]
    assert attached is not None and attached.app_name == runner.app_name
    assert attached.run({"x": 5})["output"]["y"] == 10  # over HTTP
    assert attached.is_healthy()
    attached.stop()
    assert app_status(runner.app_name)[0] == "NOT_FOUND"
    assert not runner.is_healthy()
    runner.stop()  # idempotent


def test_serve_is_started_once_and_reused(ray_cluster: Any) -> None:
    first = ensure_serve(ray_cluster.address)
    assert first.startswith("http://127.0.0.1:")
    assert ensure_serve(ray_cluster.address, port=1) == first  # the running proxy's port


def test_bad_settings_are_refused(code: Path) -> None:
    with pytest.raises(DeploymentError, match="max_ongoing_requests"):
        RayServeRunner(code_path=str(code), max_ongoing_requests=0)
    with pytest.raises(DeploymentError, match="code_path"):
        RayServeRunner()
    with pytest.raises(DeploymentError, match=r"resources\.cpu"):
        RayServeRunner(code_path=str(code), resources={"cpu": "lots"}).actor_options()


def test_attached_without_an_address_cannot_stop(
    code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoist.settings import variable_of

    monkeypatch.delenv(variable_of("ray_address"), raising=False)

    class Record:  # deployed on the private Ray of another process
        endpoint = "http://127.0.0.1:9/hoist-elsewhere"
        snapshot = str(code)
        config: dict[str, Any] = {"address": None}

    attached = RayServeRunner.attach(Record())  # type: ignore[arg-type]
    assert attached is not None and attached.app_name == "hoist-elsewhere"
    with pytest.raises(DeploymentError, match="private Ray of the process that deployed it"):
        attached.stop()
    assert RayServeRunner.attach(type("NoEndpoint", (), {"endpoint": None})()) is None  # type: ignore[arg-type]
