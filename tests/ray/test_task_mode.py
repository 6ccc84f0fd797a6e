"""mode='task': actions in warm Ray actors on a real local cluster."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from hoist import ActionFailedError, run_plugin
from hoist.errors import RunLostError
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from tests.waiting import wait_until


@pytest.fixture
def executor(ray_cluster: Any, runtime: Runtime) -> Any:
    from hoist.executors.ray.task import RayActorExecutor

    ex = RayActorExecutor(address=ray_cluster.address, runtime=runtime, num_cpus=0.25)
    yield ex
    ex.shutdown()


def _settled(runtime: Runtime, run_id: str) -> Any:
    """The run once the worker's writer has committed its terminal status."""
    return wait_until(
        lambda: (run := runtime.store.get_run(run_id)).status.is_terminal and run,
        30,
        f"run {run_id} to end",
    )


def test_calls_reuse_one_warm_actor_in_another_process(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    """Task mode's own promise (the contract suite covers results, events and errors)."""
    first = run_plugin(calc_plugin, "add", {"a": 2, "b": 3}, executor=executor)
    second = run_plugin(calc_plugin, "add", {"a": 5}, executor=executor)
    assert (first.total, second.total) == (5, 7)
    assert first.pid == second.pid != os.getpid()  # same warm actor, another process
    (latest, *_) = runtime.store.list_runs()
    assert _settled(runtime, latest.id).mode == "task"


def test_a_failure_keeps_the_actor_warm(executor: Any, calc_plugin: Path) -> None:
    pid = run_plugin(calc_plugin, "add", {}, executor=executor).pid
    with pytest.raises(ActionFailedError) as info:
        run_plugin(calc_plugin, "boom", {"a": 9}, executor=executor)
    assert type(info.value.__cause__).__name__ == "BoomError"  # the user's own exception
    assert "\x1b[" not in info.value.traceback  # no colour codes
    assert run_plugin(calc_plugin, "add", {}, executor=executor).pid == pid


def test_function_actions_run_in_task_mode(executor: Any, calc_plugin: Path) -> None:
    assert run_plugin(calc_plugin, "shout", {"text": "hey"}, executor=executor) == {"out": "HEY!"}


def test_the_driver_stops_heartbeating_a_submitted_run_once_it_ended(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(calc_plugin)
    handle = executor.submit(plugin.load_action("add"), {"a": 1},
                             **plugin_run_options(plugin, "add"))  # fmt: skip
    assert handle.result(timeout=30).total == 3
    # The worker recorded the end; the driver's sink, which opened the run queued, must
    # not keep it live (heartbeats and cancel polls for a run that ended).
    assert str(handle) not in executor.sink._live


def test_missing_module_on_the_worker_is_a_clear_failure(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.executors.ray.task import RayActorExecutor
    from hoist.plugins.action import AnyParams, BaseAction
    from hoist.plugins.discovery import load_plugin

    class Stand(BaseAction[AnyParams]):  # the driver need not import the plugin here
        def execute(self) -> None:
            return None

    executor = RayActorExecutor(address=ray_cluster.address, runtime=runtime, num_cpus=0.25)
    options = plugin_run_options(load_plugin(calc_plugin), "needs_missing")
    options["entrypoint"] = "plugin.heavy:NeedsMissing"
    try:
        with pytest.raises(ActionFailedError) as info:
            executor.execute(Stand, {}, **options)
    finally:
        executor.shutdown()
    assert "module_that_is_not_installed_anywhere" in info.value.error_message
    assert "add it to the plugin's requirements" in info.value.error_message


def test_the_pool_replaces_a_killed_actor(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    """The run on a killed actor ends lost at once (the contract suite); the next call
    gets a new warm actor."""
    worker_pid = run_plugin(calc_plugin, "add", {}, executor=executor).pid  # the warm actor
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(calc_plugin)
    handle = executor.submit(plugin.load_action("slow"), {"seconds": 60},
                             **plugin_run_options(plugin, "slow"))  # fmt: skip
    wait_until(lambda: handle.status is RunStatus.RUNNING, 30, "the action to start")
    os.kill(worker_pid, signal.SIGKILL)
    with pytest.raises(RunLostError, match="died"):
        handle.result(timeout=30)
    replacement = run_plugin(calc_plugin, "add", {}, executor=executor)
    assert replacement.total == 3 and replacement.pid != worker_pid


def test_shipping_the_plugin_folder_to_the_cluster(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.ray.task import RayActorExecutor

    executor = RayActorExecutor(address=ray_cluster.address, runtime=runtime, ship=True,
                                num_cpus=0.25)  # fmt: skip
    try:
        result = run_plugin(calc_plugin, "add", {"a": 40}, executor=executor)
    finally:
        executor.shutdown()
    assert result.total == 42


def test_oversized_plugin_is_refused(ray_cluster: Any, calc_plugin: Path, runtime: Runtime) -> None:
    from hoist.executors.ray.packaging import PackageOptions, PackageTooLargeError
    from hoist.executors.ray.task import RayActorExecutor

    (calc_plugin / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    executor = RayActorExecutor(address=ray_cluster.address, runtime=runtime, ship=True,
                                package=PackageOptions(max_size_mb=1))  # fmt: skip
    with pytest.raises(PackageTooLargeError, match=r"weights\.bin \(3\.0 MiB\)"):
        run_plugin(calc_plugin, "add", {}, executor=executor)
    (run,) = runtime.store.list_runs()  # the run is recorded, failed, saying why
    assert run.status is RunStatus.FAILED and "weights.bin" in run.error["message"]


def test_embedded_default_starts_a_private_local_ray(
    ray_cluster: Any, hoist_proc: Any, calc_plugin: Path
) -> None:
    # With no address, Hoist starts its own loopback Ray (not the session's cluster).
    result = hoist_proc("run", str(calc_plugin), "add", "-p", "a=10", "--mode", "task",
                        "--json", timeout=180)  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["result"]["total"] == 12


def test_a_requirement_that_fails_to_install_fails_the_run(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.ray.task import RayActorExecutor

    config = calc_plugin / "config.yaml"
    config.write_text(
        config.read_text().replace(
            "requirements: []", "requirements: ['hoist-no-such-package-anywhere==9.9.9']"
        )
    )
    executor = RayActorExecutor(address=ray_cluster.address, runtime=runtime, num_cpus=0.25)
    try:
        with pytest.raises(ActionFailedError) as info:
            run_plugin(calc_plugin, "add", {}, executor=executor)
    finally:
        executor.shutdown()
    assert info.value.error_type == "RuntimeEnvSetupError"
    assert "requirements" in info.value.error_message
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.FAILED


def test_warm_calls_go_through_a_compiled_graph(executor: Any, calc_plugin: Path) -> None:
    assert run_plugin(calc_plugin, "add", {"a": 1}, executor=executor).total == 3
    lines = list(executor._lines.values())
    assert lines and all(line.compiled for line in lines)


def test_plain_method_calls_when_compiled_graphs_are_off(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.ray.task import RayActorExecutor

    executor = RayActorExecutor(
        address=ray_cluster.address, runtime=runtime, num_cpus=0.25, compiled=False
    )
    try:
        assert run_plugin(calc_plugin, "add", {"a": 4}, executor=executor).total == 6
        with pytest.raises(ActionFailedError, match="boom 2"):
            run_plugin(calc_plugin, "boom", {"a": 2}, executor=executor)
        assert not any(line.compiled for line in executor._lines.values())
    finally:
        executor.shutdown()


def test_a_secret_param_reaches_the_worker_and_stays_masked_in_the_store(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    (calc_plugin / "plugin" / "secretive.py").write_text(
        "from pydantic import BaseModel, SecretStr\nfrom hoist import BaseAction\n\n"
        "class P(BaseModel):\n    key: SecretStr\n\n"
        "class UsesKey(BaseAction[P]):\n"
        "    def execute(self):\n"
        "        return {'length': len(self.params.key.get_secret_value()),\n"
        "                'head': self.params.key.get_secret_value()[:3]}\n"
    )
    config = calc_plugin / "config.yaml"
    config.write_text(
        config.read_text() + "  uses_key:\n    entrypoint: plugin.secretive:UsesKey\n"
    )
    result = run_plugin(calc_plugin, "uses_key", {"key": "sk-live-123456"}, executor=executor)
    assert result == {"length": 14, "head": "sk-"}
    (run,) = runtime.store.list_runs()
    assert run.params == {"key": "**********"}
    assert all("sk-live" not in str(e.to_dict()) for e in runtime.store.events(run.id))
