"""mode='job': each action as its own Ray Job on a real local cluster's Jobs API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hoist import ActionFailedError, run_plugin
from hoist.executors.job_status import JobStatus
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from tests.waiting import wait_until


@pytest.fixture
def executor(ray_cluster: Any, runtime: Runtime) -> Any:
    from hoist.executors.ray.job import RayJobExecutor

    return RayJobExecutor(address=ray_cluster.address, runtime=runtime)


def _submit(executor: Any, plugin_root: Path, action: str, params: dict[str, Any]) -> Any:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(plugin_root)
    return executor.submit(plugin.load_action(action), params,
                           **plugin_run_options(plugin, action))  # fmt: skip


def test_runs_as_a_job_and_the_result_comes_through_the_store(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    result = run_plugin(calc_plugin, "add", {"a": 2, "b": 40}, executor=executor)
    assert result["total"] == 42  # JSON data: the driver does not import the action
    (run,) = runtime.store.list_runs()
    assert (run.status, run.mode, run.plugin, run.action) == (
        RunStatus.SUCCEEDED, "job", "calc", "add",
    )  # fmt: skip
    kinds = [e.type for e in runtime.store.events(run.id)]
    assert kinds.count("progress") == 2 and "message" in kinds and kinds[-1] == "status"
    job_id = run.meta["ray_job_id"]
    # the result is in before the job's process ends; the job then ends too
    info = wait_until(
        lambda: (got := executor.client().get_job_info(job_id)).status.value != "RUNNING" and got,
        30,
        "the job to end",
    )
    assert str(info.status.value) == "SUCCEEDED"
    assert info.metadata["hoist_run_id"] == run.id
    assert executor.get_run_status(run.id) is RunStatus.SUCCEEDED
    assert executor.get_status(run.id) is JobStatus.SUCCEEDED


def test_params_and_secrets_travel_in_a_file_not_in_the_job_record(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.ray.job import RayJobExecutor

    (calc_plugin / "plugin" / "env_echo.py").write_text(
        "import os\nfrom hoist import action\n\n"
        "@action(name='env_echo')\n"
        "def env_echo(params, context):\n"
        "    blob = params.model_dump()['blob']\n"
        "    return {'token': os.environ.get('API_TOKEN'), 'big': len(blob)}\n"
    )
    config = calc_plugin / "config.yaml"
    config.write_text(
        config.read_text() + "  env_echo:\n    entrypoint: plugin.env_echo:env_echo\n"
    )
    executor = RayJobExecutor(
        address=ray_cluster.address, runtime=runtime, secrets={"API_TOKEN": "s3cr3t-value"}
    )
    blob = "x" * 300_000  # far over what environment variables or a command line carry
    result = run_plugin(calc_plugin, "env_echo", {"blob": blob}, executor=executor)
    assert result == {"token": "s3cr3t-value", "big": 300_000}
    (run,) = runtime.store.list_runs()
    info = executor.client().get_job_info(run.meta["ray_job_id"])
    record = json.dumps(info.model_dump(), default=str)
    assert "s3cr3t-value" not in record
    assert "xxxxxxxxxx" not in record
    files = [p for p in runtime.settings.home.rglob("*") if p.is_file()]
    # (the store holds the action's result, which here echoes the secret)
    leftovers = [p for p in files if b"s3cr3t-value" in p.read_bytes() and "hoist.db" not in p.name]
    assert leftovers == []  # the secrets file is deleted once the job has read it


def test_logs_of_the_job(executor: Any, calc_plugin: Path) -> None:
    handle = _submit(executor, calc_plugin, "boom", {"a": 3})
    with pytest.raises(ActionFailedError):
        handle.result(timeout=60)
    # The run is recorded failed before Ray has shipped the job's last output lines.
    wait_until(
        lambda: f"run {handle.run_id} failed: boom 3" in executor.get_logs(handle.run_id),
        60, "the job's logs to show its failure",
    )  # fmt: skip
    streamed = "".join(executor.stream_logs(handle.run_id))
    assert f"run {handle.run_id} failed" in streamed


def test_a_requirement_that_fails_to_install_fails_the_run(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    config = calc_plugin / "config.yaml"
    config.write_text(
        config.read_text().replace(
            "requirements: []", "requirements: ['hoist-no-such-package-anywhere==9.9.9']"
        )
    )
    with pytest.raises(ActionFailedError) as info:
        run_plugin(calc_plugin, "add", {}, executor=executor)
    assert info.value.error_type == "RuntimeEnvSetupError"
    assert "requirements" in info.value.error_message
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.FAILED


def test_missing_module_on_the_worker(executor: Any, calc_plugin: Path) -> None:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.plugins.action import AnyParams, BaseAction
    from hoist.plugins.discovery import load_plugin

    class Stand(BaseAction[AnyParams]):  # the driver need not import the plugin here
        def execute(self) -> None:
            return None

    options = plugin_run_options(load_plugin(calc_plugin), "needs_missing")
    with pytest.raises(ActionFailedError) as info:
        executor.execute(Stand, {}, **options)
    assert "module_that_is_not_installed_anywhere" in info.value.error_message
    assert "add it to the plugin's requirements" in info.value.error_message


def test_oversized_plugin_fails_the_run_before_any_job(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.ray.job import RayJobExecutor
    from hoist.executors.ray.packaging import PackageOptions, PackageTooLargeError

    (calc_plugin / "weights.bin").write_bytes(b"\0" * (3 * 1024 * 1024))
    executor = RayJobExecutor(
        address=ray_cluster.address, runtime=runtime, ship=True,
        package=PackageOptions(max_size_mb=1),
    )  # fmt: skip
    with pytest.raises(PackageTooLargeError, match=r"weights\.bin \(3\.0 MiB\)"):
        run_plugin(calc_plugin, "add", {}, executor=executor)
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.FAILED and "weights.bin" in run.error["message"]


def test_shipped_plugin_runs_from_the_jobs_working_dir(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    from hoist.executors.ray.job import RayJobExecutor

    executor = RayJobExecutor(address=ray_cluster.address, runtime=runtime, ship=True)
    assert run_plugin(calc_plugin, "shout", {"text": "ray"}, executor=executor) == {"out": "RAY!"}


def test_a_second_cluster_in_one_process_is_refused(ray_cluster: Any, runtime: Runtime) -> None:
    from hoist.executors.ray.connect import RayUnavailableError, ensure_ray

    ensure_ray(ray_cluster.address)
    with pytest.raises(RayUnavailableError, match="already connected to the Ray cluster"):
        ensure_ray("127.0.0.1:1")


def _wheel(folder: Path) -> Path:
    """A tiny pure-Python wheel (module ``hoist_bundled_helper``), built by hand."""
    import base64
    import hashlib
    import zipfile

    name, version = "hoist_bundled_helper", "0.1.0"
    files = {
        f"{name}.py": "def answer():\n    return 42\n",
        f"{name}-{version}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ),
        f"{name}-{version}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: hoist-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_a_bundled_wheel_is_installed_for_the_job(
    executor: Any, calc_plugin: Path, runtime: Runtime
) -> None:
    _wheel(calc_plugin / "wheels")
    (calc_plugin / "plugin" / "uses_wheel.py").write_text(
        "from hoist import action\n\n"
        "@action(name='uses_wheel')\n"
        "def uses_wheel(params, context):\n"
        "    import hoist_bundled_helper\n"
        "    return {'answer': hoist_bundled_helper.answer()}\n"
    )
    config = calc_plugin / "config.yaml"
    config.write_text(
        config.read_text() + "  uses_wheel:\n    entrypoint: plugin.uses_wheel:uses_wheel\n"
    )
    assert run_plugin(calc_plugin, "uses_wheel", {}, executor=executor) == {"answer": 42}


def test_the_driver_never_imports_the_plugins_code(executor: Any, calc_plugin: Path) -> None:
    import sys

    from hoist.plugins.discovery import load_plugin

    assert run_plugin(calc_plugin, "add", {"a": 1}, executor=executor)["total"] == 3
    namespace = load_plugin(calc_plugin).namespace
    assert namespace is not None
    assert not [m for m in sys.modules if m.startswith(f"{namespace.prefix}.plugin")]


def test_bad_params_fail_a_recorded_run(executor: Any, calc_plugin: Path, runtime: Runtime) -> None:
    """Job mode only: the driver never imports the action, so the job's worker validates
    the params and its run is recorded ``failed`` (the fields named are the contract's
    test_bad_params_name_every_field)."""
    from hoist import ParamsValidationError

    with pytest.raises(ParamsValidationError):
        run_plugin(calc_plugin, "add", {"a": "many"}, executor=executor)
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.FAILED and run.error["type"] == "ParamsValidationError"


def test_cli_bad_params_in_job_mode_exit_2(
    ray_cluster: Any, hoist_proc: Any, calc_plugin: Path
) -> None:
    result = hoist_proc("run", str(calc_plugin), "add", "-p", "a=many", "--mode", "job",
                        "--ray-address", ray_cluster.address)  # fmt: skip
    assert result.code == 2, result.err
    assert "a:" in result.err
