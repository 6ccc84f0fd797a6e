"""mode='task': actions in warm Ray actors on a real local cluster."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from hoist import ActionFailedError, RunCancelledError, run_plugin
from hoist.errors import RunLostError
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime


@pytest.fixture
def executor(ray_cluster: Any, runtime: Runtime) -> Any:
    from hoist.executors.ray.task import RayActorExecutor

    ex = RayActorExecutor(address=ray_cluster.address, runtime=runtime, num_cpus=0.25)
    yield ex
    ex.shutdown()


def _status(runtime: Runtime, run_id: str) -> RunStatus | None:
    """The run's status, or None until its worker has recorded it."""
    from hoist.errors import RunNotFoundError

    try:
        return runtime.store.get_run(run_id).status
    except RunNotFoundError:
        return None


def _settled(runtime: Runtime, run_id: str, timeout: float = 10.0) -> Any:
    """The run once the worker's writer has committed its terminal status."""
    deadline = time.monotonic() + timeout
    while True:
        run = runtime.store.get_run(run_id)
        if run.status.is_terminal or time.monotonic() > deadline:
            return run
        time.sleep(0.02)


def test_runs_in_a_warm_actor_and_records_events(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    first = run_plugin(calc_plugin, "add", {"a": 2, "b": 3}, executor=executor)
    second = run_plugin(calc_plugin, "add", {"a": 5}, executor=executor)
    assert (first.total, second.total) == (5, 7)
    assert first.pid == second.pid != os.getpid()  # same warm actor, another process
    (latest, *_) = runtime.store.list_runs()
    run = _settled(runtime, latest.id)
    assert (run.status, run.mode, run.plugin, run.action) == (
        RunStatus.SUCCEEDED, "task", "calc", "add",
    )  # fmt: skip
    types = [e.type for e in runtime.store.events(run.id)]
    assert types == ["status", "progress", "message", "progress", "result", "status"]


def test_failure_keeps_the_actor_and_shows_the_users_exception(
    executor: Any, calc_plugin: Path
) -> None:
    pid = run_plugin(calc_plugin, "add", {}, executor=executor).pid
    with pytest.raises(ActionFailedError) as info:
        run_plugin(calc_plugin, "boom", {"a": 9}, executor=executor)
    assert info.value.error_type.endswith("BoomError")
    assert info.value.error_message == "boom 9"
    assert type(info.value.__cause__).__name__ == "BoomError"
    assert info.value.traceback.count("Traceback") == 1
    assert "\x1b[" not in info.value.traceback  # no colour codes
    assert run_plugin(calc_plugin, "add", {}, executor=executor).pid == pid


def test_function_actions_run_in_task_mode(executor: Any, calc_plugin: Path) -> None:
    assert run_plugin(calc_plugin, "shout", {"text": "hey"}, executor=executor) == {"out": "HEY!"}


def test_invalid_params_fail_before_any_ray_call(executor: Any, calc_plugin: Path) -> None:
    from hoist import ParamsValidationError

    with pytest.raises(ParamsValidationError, match="a: must be an integer"):
        run_plugin(calc_plugin, "add", {"a": "x"}, executor=executor)


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


def test_cancel_a_running_task(executor: Any, calc_plugin: Path, runtime: Runtime) -> None:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(calc_plugin)
    handle = executor.submit(plugin.load_action("slow"), {"seconds": 30},
                             **plugin_run_options(plugin, "slow"))  # fmt: skip
    deadline = time.monotonic() + 30
    while _status(runtime, handle.run_id) is not RunStatus.RUNNING:
        assert time.monotonic() < deadline, "never started"
        time.sleep(0.05)
    started = time.monotonic()
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.result(timeout=20)
    assert time.monotonic() - started < 5
    assert _settled(runtime, handle.run_id).status is RunStatus.CANCELLED


def test_killed_worker_makes_the_run_lost(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(calc_plugin)
    worker_pid = run_plugin(calc_plugin, "add", {}, executor=executor).pid  # the warm actor
    handle = executor.submit(plugin.load_action("slow"), {"seconds": 60},
                             **plugin_run_options(plugin, "slow"))  # fmt: skip
    deadline = time.monotonic() + 30
    while _status(runtime, handle.run_id) is not RunStatus.RUNNING:
        assert time.monotonic() < deadline, "never started"
        time.sleep(0.05)
    os.kill(worker_pid, signal.SIGKILL)
    killed = time.monotonic()
    with pytest.raises(RunLostError, match="died"):
        handle.result(timeout=30)
    assert time.monotonic() - killed < 15
    run = runtime.store.get_run(handle.run_id)
    assert run.status is RunStatus.LOST
    assert [e.type for e in runtime.store.events(run.id)][-2:] == ["error", "status"]
    # the pool replaces the dead actor
    assert run_plugin(calc_plugin, "add", {}, executor=executor).total == 3


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
