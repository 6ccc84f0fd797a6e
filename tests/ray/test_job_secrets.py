"""mode='job': an action's secret params (``SecretStr``) reach its job's worker, and
only it: the run store, the server's API, Ray's job record and the staged files left
behind hold them masked, or not at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hoist import run_plugin
from hoist.plugins.invoke import SECRET_MASK
from hoist.runs.models import RUN_ADAPTER, RunStatus
from hoist.runs.runtime import Runtime

SECRET = "hunter2-job-secret-4f1c"

LOGIN = """
from pydantic import BaseModel, SecretStr
from hoist import BaseAction


class LoginParams(BaseModel):
    user: str
    password: SecretStr
    retries: int = 3


class Login(BaseAction[LoginParams]):
    def execute(self):
        password = self.params.password.get_secret_value()
        return {"user": self.params.user, "length": len(password),
                "reversed": password[::-1], "retries": self.params.retries}
"""


@pytest.fixture
def login_plugin(calc_plugin: Path) -> Path:
    """The test plugin with an action that takes a secret param."""
    (calc_plugin / "plugin" / "login.py").write_text(LOGIN)
    config = calc_plugin / "config.yaml"
    config.write_text(config.read_text() + "  login:\n    entrypoint: plugin.login:Login\n")
    return calc_plugin


def _api_run(home: Path, run_id: str) -> str:
    """The run's JSON and its events' JSON as a live server's API answers them."""
    from tests.server.conftest import serve, server_settings

    with serve(server_settings(home)) as live:
        http = live.http(live.token())
        run = http.get(f"/api/v1/runs/{run_id}")
        events = http.get(f"/api/v1/runs/{run_id}/events")
        assert run.status_code == 200 and events.status_code == 200
        assert run.json()["params"]["password"] == SECRET_MASK
        return run.text + events.text


def test_a_secret_param_reaches_the_worker_and_is_recorded_masked(
    ray_cluster: Any, login_plugin: Path, runtime: Runtime, hoist_home: Path
) -> None:
    from hoist.executors.ray.job import RayJobExecutor

    executor = RayJobExecutor(address=ray_cluster.address, runtime=runtime)
    given = {"user": "ann", "password": SECRET}
    result = run_plugin(login_plugin, "login", given, executor=executor)
    assert result == {"user": "ann", "length": len(SECRET), "reversed": SECRET[::-1],
                      "retries": 3}  # fmt: skip
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.SUCCEEDED
    # the worker recorded the params it validated: defaults in, the secret masked
    assert run.params == {"user": "ann", "password": SECRET_MASK, "retries": 3}
    stored = json.dumps(RUN_ADAPTER.dump_python(run, mode="json"))
    stored += json.dumps([e.to_dict() for e in runtime.store.events(run.id)])
    assert SECRET not in stored
    assert SECRET not in _api_run(hoist_home, run.id)
    info = executor.client().get_job_info(run.meta["ray_job_id"])
    assert SECRET not in json.dumps(info.model_dump(), default=str)
    files = [p for p in hoist_home.rglob("*") if p.is_file()]
    assert files and [p for p in files if SECRET.encode() in p.read_bytes()] == []


def test_a_job_that_never_validates_keeps_its_params_withheld(
    ray_cluster: Any, login_plugin: Path, runtime: Runtime, hoist_home: Path
) -> None:
    from hoist import ParamsValidationError
    from hoist.executors.ray.job import RayJobExecutor

    executor = RayJobExecutor(address=ray_cluster.address, runtime=runtime)
    with pytest.raises(ParamsValidationError) as info:
        run_plugin(login_plugin, "login", {"password": SECRET, "retries": "x"},
                   executor=executor)  # fmt: skip
    assert set(info.value.field_errors) == {"user", "retries"}
    (run,) = runtime.store.list_runs()
    assert run.status is RunStatus.FAILED
    # the driver cannot tell which params are secret: it recorded every value masked
    assert run.params == {"password": SECRET_MASK, "retries": SECRET_MASK}
    files = [p for p in hoist_home.rglob("*") if p.is_file()]
    assert [p for p in files if SECRET.encode() in p.read_bytes()] == []


def test_params_are_staged_with_the_secrets_and_read_once(tmp_path: Path) -> None:
    from hoist.executors.ray.staging import JOB_DIR, JobDescription, read_job, stage_job

    job = JobDescription(entrypoint="m:a", action="a", plugin_path=None, run={"id": "r"},
                         params={"password": SECRET})  # fmt: skip
    folder = stage_job(job, secrets={"API_TOKEN": "t0k"}, into=tmp_path / "job")
    assert SECRET not in (folder / JOB_DIR / "job.json").read_text()
    secrets_file = folder / JOB_DIR / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    read, env = read_job(folder)
    assert (read.params, env) == ({"password": SECRET}, {"API_TOKEN": "t0k"})
    assert not secrets_file.exists()
    with pytest.raises(FileNotFoundError):
        read_job(folder)  # read once


def test_the_store_records_validated_params_until_the_run_ends(runtime: Runtime) -> None:
    from hoist.runs.models import Run

    store = runtime.store
    run = Run(id="run-params-1", action="login", params={"password": SECRET_MASK})
    store.write_batch([run], [])
    store.record_params(run.id, {"password": SECRET_MASK, "user": "ann"})
    assert store.get_run(run.id).params == {"password": SECRET_MASK, "user": "ann"}
    store.end_run(run.id, RunStatus.FAILED, "Lost", "gone")
    store.record_params(run.id, {"user": "bob"})
    assert store.get_run(run.id).params == {"password": SECRET_MASK, "user": "ann"}


def test_a_job_launched_through_the_api_records_its_secret_masked(
    ray_cluster: Any, login_plugin: Path, hoist_home: Path
) -> None:
    from tests.server.conftest import serve, server_settings

    settings = server_settings(hoist_home, plugin_paths=(login_plugin.parent,),
                               ray_address=ray_cluster.address)  # fmt: skip
    with serve(settings) as live:
        client = live.client("admin")
        params = {"user": "ann", "password": SECRET, "retries": 1}
        run_id = client.launch("calc", "login", params=params, mode="job")
        run = client.wait(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        assert run.result == {"user": "ann", "length": len(SECRET), "reversed": SECRET[::-1],
                              "retries": 1}  # fmt: skip
        assert run.params == {"user": "ann", "password": SECRET_MASK, "retries": 1}
        http = live.http(live.token())
        answered = http.get(f"/api/v1/runs/{run_id}").text
        answered += http.get(f"/api/v1/runs/{run_id}/events").text
        assert SECRET not in answered
    files = [p for p in hoist_home.rglob("*") if p.is_file()]
    assert files and [p for p in files if SECRET.encode() in p.read_bytes()] == []


def test_the_driver_withholds_every_value_and_keeps_the_given_ones_for_the_worker() -> None:
    from pydantic import SecretStr

    from hoist.executors.ray.job_support import given_params, withheld_params
    from hoist.plugins.invoke import worker_params

    given = {"password": SecretStr(SECRET), "user": "ann", "tags": ["a"], "none": None}
    assert withheld_params(given) == {
        "password": SECRET_MASK, "user": SECRET_MASK, "tags": SECRET_MASK, "none": None,
    }  # fmt: skip
    kept = worker_params(given_params(given))
    assert kept == {"password": SECRET, "user": "ann", "tags": ["a"], "none": None}
