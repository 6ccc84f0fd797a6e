"""``BaseDeploymentAction`` on the session's Ray: the seed's two examples (simple execute
and step-based, only their imports changed) as a plugin folder run through the
LocalExecutor; the Serve application answers over HTTP, is recorded as a ``ray-serve``
deployment and reports INITIALIZE / DEPLOY / REGISTER progress; a replica whose
constructor raises fails the run with its message; no entrypoint is a clear error."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hoist.deployment.manager import DeploymentManager
from hoist.deployment.records import DeploymentRecords
from hoist.errors import ActionFailedError, ServeModeError
from hoist.executors.local import LocalExecutor
from hoist.plugins.discovery import load_plugin
from hoist.runs.runtime import Runtime, get_runtime
from tests.conftest import write_files

SERVING = """
from pydantic import BaseModel


class MyParams(BaseModel):
    num_cpus: float = 0.1
    num_gpus: float = 0


class MyServeDeployment:
    def __init__(self) -> None:
        self.factor = 2

    async def __call__(self, request):
        body = await request.json() if request.method == "POST" else {}
        return {"doubled": body.get("x", 0) * self.factor}
"""

# The seed's "simple execute" example, with only its imports changed.
SIMPLE = """
from typing import Any

from hoist.deployment.serve_action import BaseDeploymentAction
from plugin.serving import MyParams, MyServeDeployment


class MyDeploymentAction(BaseDeploymentAction[MyParams]):
    action_name = 'deployment'
    category = 'neural_net'
    params_model = MyParams
    entrypoint = MyServeDeployment

    def execute(self) -> dict[str, Any]:
        self.ray_init()
        self.set_progress(1, 3, self.progress.INITIALIZE)
        self.deploy()
        self.set_progress(2, 3, self.progress.DEPLOY)
        app_id = self.register_serve_application()
        self.set_progress(3, 3, self.progress.REGISTER)
        return {'serve_application': app_id}
"""

# The seed's "step-based" example, with only its imports changed.
STEPPED = """
from hoist.deployment.serve_action import (
    BaseDeploymentAction, DeploymentContext, DeployStep, InitializeRayStep, RegisterStep,
)
from hoist.plugins.steps import StepRegistry
from plugin.serving import MyParams, MyServeDeployment


class MyDeploymentAction(BaseDeploymentAction[MyParams]):
    entrypoint = MyServeDeployment

    def setup_steps(self, registry: StepRegistry[DeploymentContext]) -> None:
        registry.register(InitializeRayStep())
        registry.register(DeployStep())
        registry.register(RegisterStep())
"""

BROKEN = """
from hoist.deployment.serve_action import BaseDeploymentAction
from plugin.serving import MyParams


class Broken:
    def __init__(self) -> None:
        raise ValueError("model weights missing: /nowhere/model.pt")

    async def __call__(self, request):
        return {}


class BrokenDeploymentAction(BaseDeploymentAction[MyParams]):
    entrypoint = Broken


class NoEntrypointAction(BaseDeploymentAction[MyParams]):
    pass
"""

PLAIN = """
from hoist import action


@action
def plain(params, context):
    return {"ok": True}
"""

CONFIG = """
name: Serve Demo
code: {code}
version: 0.1.0
category: neural_net
actions:
  deployment:
    entrypoint: plugin.simple:MyDeploymentAction
    method: serve
  stepped:
    entrypoint: plugin.stepped:MyDeploymentAction
    method: serve
  broken:
    entrypoint: plugin.broken:BrokenDeploymentAction
    method: serve
  unset:
    entrypoint: plugin.broken:NoEntrypointAction
  plain_served:
    entrypoint: plugin.plain:plain
    method: serve
"""

CATEGORIES = {"initialize", "deploy", "register"}


def write_plugin(root: Path, code: str) -> Path:
    """A plugin folder holding the seed's examples (its ``code`` names the Serve app)."""
    return write_files(root / code, {
        "config.yaml": CONFIG.format(code=code),
        "plugin/__init__.py": "",
        "plugin/serving.py": SERVING,
        "plugin/simple.py": SIMPLE,
        "plugin/stepped.py": STEPPED,
        "plugin/broken.py": BROKEN,
        "plugin/plain.py": PLAIN,
    })  # fmt: skip


@pytest.fixture
def serve_apps(ray_cluster: Any) -> Iterator[list[str]]:
    """Names of the Serve applications a test deploys; deleted at teardown."""
    names: list[str] = []
    yield names
    with warnings.catch_warnings():  # ray.serve's own import-time deprecations
        warnings.simplefilter("ignore", DeprecationWarning)
        import ray.serve  # noqa: F401
    from hoist.deployment.serving import delete_app

    for name in names:
        delete_app(name)


@pytest.fixture
def executor(ray_cluster: Any) -> Iterator[LocalExecutor]:
    """A LocalExecutor whose actions find the session's Ray in ``RAY_ADDRESS``."""
    with LocalExecutor(env={"RAY_ADDRESS": ray_cluster.address}) as local:
        yield local


def run(executor: LocalExecutor, folder: Path, action: str) -> tuple[str, Any]:
    """Run ``action`` of the plugin in ``folder``; ``(run id, result)``."""
    prepared = executor.prepare_plugin(load_plugin(folder), action, {})
    try:
        return prepared.run.id, executor.execute_prepared(prepared)
    finally:
        executor.sink.flush()


def progress_categories(runtime: Runtime, run_id: str) -> set[str]:
    events = runtime.store.events(run_id)
    return {e.category for e in events if e.type == "progress" and e.category}


def test_seed_examples_deploy_answer_and_are_recorded(
    tmp_path: Path, executor: LocalExecutor, serve_apps: list[str]
) -> None:
    folder = write_plugin(tmp_path, "serve_seed")
    name = "serve_seed-0.1.0"
    serve_apps.append(name)
    runtime = get_runtime()
    records = DeploymentRecords(runtime.store.engine)

    first_run, first = run(executor, folder, "deployment")  # the simple execute example
    assert first == {"serve_application": 1}
    record = records.get(name)
    assert (record.version, record.strategy, record.status) == (1, "ray-serve", "running")
    assert record.run_id == first_run
    assert record.owner == f"ray:{ray_address(executor)}"
    prefix = record.config["route_prefix"]
    assert prefix.startswith("/") and len(prefix) == 13
    assert record.config["app_name"] == name and record.config["predict_path"] == ""
    assert record.endpoint is not None and record.endpoint.endswith(prefix)
    answer = httpx.post(record.endpoint, json={"x": 21}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"doubled": 42}
    assert progress_categories(runtime, first_run) >= CATEGORIES

    second_run, second = run(executor, folder, "stepped")  # the step-based example
    assert second["serve_application"] == 2 and second["endpoint"] == record.endpoint
    assert [(r.version, r.status) for r in records.versions(name)] == [
        (1, "replaced"), (2, "running"),
    ]  # fmt: skip
    listed = {r.name: r for r in DeploymentManager().list()}
    assert listed[name].version == 2 and listed[name].run_id == second_run
    assert progress_categories(runtime, second_run) >= CATEGORIES
    steps = [(e.step, e.phase) for e in runtime.store.events(second_run) if e.type == "step"]
    assert [s for s in steps if s[1] == "finished"] == [
        ("initialize_ray", "finished"), ("deploy", "finished"), ("register", "finished"),
    ]  # fmt: skip
    again = httpx.post(record.endpoint, json={"x": 5}, timeout=30)
    assert again.json() == {"doubled": 10}


def ray_address(executor: LocalExecutor) -> str:
    import ray

    return str(ray.get_runtime_context().gcs_address)


def test_a_constructor_that_raises_fails_the_run_with_its_message(
    tmp_path: Path, executor: LocalExecutor, serve_apps: list[str]
) -> None:
    folder = write_plugin(tmp_path, "serve_broken")
    serve_apps.append("serve_broken-0.1.0")
    with pytest.raises(ActionFailedError) as failed:
        run(executor, folder, "broken")
    assert "model weights missing: /nowhere/model.pt" in str(failed.value)
    assert "failed to deploy" in str(failed.value)
    from hoist.deployment.serving import app_status

    assert app_status("serve_broken-0.1.0")[0] == "NOT_FOUND"  # nothing left half-running
    assert DeploymentRecords(get_runtime().store.engine).names() == []


def test_an_unset_entrypoint_is_a_clear_error(
    tmp_path: Path, executor: LocalExecutor, serve_apps: list[str]
) -> None:
    folder = write_plugin(tmp_path, "serve_unset")
    with pytest.raises(ActionFailedError) as failed:
        run(executor, folder, "unset")
    assert "NoEntrypointAction.entrypoint is not set" in str(failed.value)
    assert failed.value.error_type.endswith("RuntimeError")


def test_method_serve_runs_a_deployment_action(
    tmp_path: Path, ray_cluster: Any, serve_apps: list[str]
) -> None:
    """``method: serve`` runs a BaseDeploymentAction (it deploys itself); an action that
    is not one is still refused naming the rule."""
    from hoist import run_plugin

    folder = write_plugin(tmp_path, "serve_method")
    serve_apps.append("serve_method-0.1.0")
    result = run_plugin(folder, "deployment", env={"RAY_ADDRESS": ray_cluster.address})
    assert result == {"serve_application": 1}
    with pytest.raises(ServeModeError, match="method: serve"):
        run_plugin(folder, "plain_served")


def test_clients_say_what_hoist_has(tmp_path: Path) -> None:
    """No agent client in Hoist; ``client`` is the Hoist server's, absent here."""
    from hoist.plugins.context import RuntimeContext

    folder = write_plugin(tmp_path, "serve_clients")
    cls = load_plugin(folder).load_action("unset")
    action = cls(cls.validate_params({}), RuntimeContext("r1", get_runtime().sink))
    with pytest.raises(RuntimeError, match="Hoist has no agent client"):
        action.agent_client  # noqa: B018
    with pytest.raises(RuntimeError, match="no Hoist server is configured"):
        action.client  # noqa: B018
    assert action.get_serve_app_name() == "serve_clients-0.1.0"
    assert action.get_ray_actor_options() == {"num_cpus": 0.1, "num_gpus": 0}
    with pytest.raises(TypeError, match="ray_init\\(\\) got runtime_env: this process shares"):
        action.ray_init(runtime_env={})  # per-replica options go elsewhere
    env = action.get_runtime_env()
    assert Path(env["working_dir"]).resolve() == folder.resolve()
