"""The ``process`` strategy end to end: real uvicorn servers in real subprocesses on free
ports of 127.0.0.1, called over real HTTP, stopped by each test."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from hoist.deployment import DeployConfig, DeploymentFactory, StrategyRegistry  # noqa: E402
from hoist.deployment.strategies.process import ProcessRunner  # noqa: E402
from hoist.errors import DeploymentError, DeploymentNotReadyError  # noqa: E402
from hoist.runs.models import Run  # noqa: E402
from hoist.runs.reader import RunFilter  # noqa: E402
from hoist.runs.runtime import get_runtime  # noqa: E402
from tests.conftest import write_files  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

MAIN = """
import asyncio
import os

def predict(inputs):
    if inputs.get("boom"):
        raise ValueError("boom!")
    if inputs.get("crash"):
        os._exit(7)
    return {"y": inputs.get("x", 0) * 2, "env": os.environ.get("MY_VAR")}

async def apredict(inputs):
    await asyncio.sleep(0)
    return {"async": True, **inputs}

async def slow(inputs):
    await asyncio.sleep(60)

not_callable = 42
"""

PLUGIN_CONFIG = """
name: Calc
code: calc
version: 0.1.0
category: custom
actions:
  double:
    entrypoint: plugin.actions:double
    method: local
  explode:
    entrypoint: plugin.actions:explode
    method: local
"""

PLUGIN_ACTIONS = """
from pydantic import BaseModel, Field

from hoist import RuntimeContext, action


class DoubleParams(BaseModel):
    x: int = Field(..., le=100)


class DoubleResult(BaseModel):
    y: int


@action(name="double", params=DoubleParams, result=DoubleResult)
def double(params: DoubleParams, context: RuntimeContext) -> DoubleResult:
    return DoubleResult(y=params.x * 2)


class ExplodeError(RuntimeError):
    pass


@action(name="explode", params=DoubleParams)
def explode(params: DoubleParams, context: RuntimeContext) -> None:
    raise ExplodeError(f"exploded at {params.x}")
"""

APP = """
from fastapi import FastAPI

app = FastAPI()

@app.post("/echo")
def echo(body: dict) -> dict:
    return {"echo": body}

@app.post("/bad")
def bad(body: dict) -> dict:
    raise ValueError("nope")
"""

SERVICE = """
from hoist.services import ServeAPI

app = ServeAPI()
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_files(tmp_path / "code", {"main.py": MAIN, "web.py": APP, "svc.py": SERVICE})


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    files = {
        "config.yaml": PLUGIN_CONFIG,
        "plugin/__init__.py": "",
        "plugin/actions.py": PLUGIN_ACTIONS,
    }
    return write_files(tmp_path / "calc", files)


@pytest.fixture
def runners() -> Iterator[list[ProcessRunner]]:
    """Runners the test made; every one stopped at the end, whatever happened."""
    made: list[ProcessRunner] = []
    yield made
    for runner in made:
        runner.stop()


def started(runners: list[ProcessRunner], **kwargs: object) -> ProcessRunner:
    runner = ProcessRunner(**kwargs)  # type: ignore[arg-type]
    runners.append(runner)
    runner.start()
    return runner


def test_callable_served_over_http(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code), env_vars={"MY_VAR": "set"})
    assert runner.is_healthy()
    assert runner.run({"x": 21}) == {"status": "success", "output": {"y": 42, "env": "set"}}
    assert httpx.get(f"{runner.endpoint}/health").json() == {"status": "ok"}
    openapi = httpx.get(f"{runner.endpoint}/openapi.json").json()
    assert {"/predict", "/health"} <= set(openapi["paths"])
    assert "Application startup complete" in runner.get_logs()
    assert runner._process is not None
    pid = runner._process.pid

    runner.stop()
    assert not runner.is_healthy()
    with pytest.raises(ProcessLookupError):  # ended and reaped: nothing left running
        os.kill(pid, 0)
    assert "Finished server process" in runner.get_logs()  # the logs outlive the server


def test_callable_error_is_an_error_envelope(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code))
    answer = runner.run({"boom": True})
    assert answer == {"status": "error", "error": {"type": "ValueError", "message": "boom!"}}
    assert runner.run({"x": 1})["status"] == "success"  # the server lives on


def test_async_callable(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code), callable="apredict")
    assert runner.run({"a": 1}) == {"status": "success", "output": {"async": True, "a": 1}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"[1, 2]", "must be a JSON object, got list"), (b"{not json", "the body is not JSON")],
)
def test_inputs_that_are_not_an_object(
    code: Path, runners: list[ProcessRunner], body: bytes, expected: str
) -> None:
    runner = started(runners, code_path=str(code))
    answer = httpx.post(f"{runner.endpoint}/predict", content=body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["type"] == "InvalidInputs" and expected in error["message"]


def test_a_crash_is_an_error_and_the_next_call_restarts(
    code: Path, runners: list[ProcessRunner]
) -> None:
    runner = started(runners, code_path=str(code))
    answer = runner.run({"crash": True})
    assert answer["status"] == "error" and answer["error"]["type"] == "ServerError"
    assert not runner.is_healthy()
    assert runner.run({"x": 2})["output"]["y"] == 4
    assert runner.is_healthy()


def test_a_call_over_its_timeout(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(
        runners, code_path=str(code), callable="slow", timeout=0.3, shutdown_timeout=0.1
    )
    answer = runner.run({})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "TimeoutError"
    assert "0.3 s" in answer["error"]["message"]


def test_plugin_action(plugin: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(plugin), action="double")
    assert runner.run({"x": 4}) == {"status": "success", "output": {"y": 8}}
    schema = httpx.get(f"{runner.endpoint}/openapi.json").json()["paths"]["/predict"]
    body = schema["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "x" in body["properties"]

    def recorded() -> list[Run]:
        runs = get_runtime().store.list_runs(RunFilter(kind="action"))
        return [r for r in runs if r.status.value == "succeeded"]

    (run,) = wait_until(recorded, what="the call recorded as a succeeded action run")
    assert run.action == "double" and run.params == {"x": 4}
    assert run.meta["deployment"] == {"strategy": "process", "action": "double"}


@pytest.mark.parametrize("inputs", [{"x": 1000}, {}, {"x": "many"}])
def test_plugin_action_invalid_params_name_the_field(
    plugin: Path, runners: list[ProcessRunner], inputs: dict[str, object]
) -> None:
    runner = started(runners, code_path=str(plugin), action="double")
    answer = runner.run(inputs)
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "ParamsValidationError"
    assert "x:" in answer["error"]["message"]
    assert list(answer["error"]["field_errors"]) == ["x"]


def test_plugin_action_that_raises(plugin: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(plugin), action="explode")
    answer = runner.run({"x": 3})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "plugin.actions.ExplodeError"
    assert answer["error"]["message"] == "exploded at 3"
    assert answer["error"]["run_id"]


def test_asgi_app_served_as_it_is(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code), app="web:app", path="/echo")
    assert runner.is_healthy()
    assert runner.run({"a": 1}) == {"status": "success", "output": {"echo": {"a": 1}}}
    assert "/echo" in httpx.get(f"{runner.endpoint}/openapi.json").json()["paths"]


def test_asgi_app_http_error_is_an_error(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code), app="web:app", path="/missing")
    answer = runner.run({})
    assert answer == {"status": "error", "error": {"type": "HTTP 404", "message": "Not Found"}}


def test_serve_api_app(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code), app="svc:app")
    assert runner.is_healthy()
    assert httpx.get(f"{runner.endpoint}/openapi.json").status_code == 200


def test_given_port(code: Path, runners: list[ProcessRunner]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = started(runners, code_path=str(code), port=port)
    assert runner.endpoint == f"http://127.0.0.1:{port}"
    assert runner.run({"x": 1})["status"] == "success"


def test_port_already_taken(code: Path, runners: list[ProcessRunner]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        runner = ProcessRunner(code_path=str(code), port=port)
        runners.append(runner)
        with pytest.raises(DeploymentError, match=f"port {port} on 127.0.0.1 is already in use"):
            runner.start()
    assert runner._process is None and not runner.is_healthy()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"module": "nowhere"}, "No module named 'nowhere'"),
        ({"callable": "missing"}, "has no attribute 'missing'"),
        ({"callable": "not_callable"}, "'main:not_callable' is not callable"),
        ({"app": "web:nothing"}, "has no attribute 'nothing'"),
    ],
)
def test_bad_target_fails_start(
    code: Path, runners: list[ProcessRunner], kwargs: dict[str, str], named: str
) -> None:
    runner = ProcessRunner(code_path=str(code), **kwargs)
    runners.append(runner)
    with pytest.raises(DeploymentError, match="exited with code 3") as failed:
        runner.start()
    assert named in str(failed.value)
    assert runner._process is None


def test_unknown_plugin_action_fails_start(plugin: Path, runners: list[ProcessRunner]) -> None:
    runner = ProcessRunner(code_path=str(plugin), action="triple")
    runners.append(runner)
    with pytest.raises(DeploymentError, match="triple"):
        runner.start()


def test_not_healthy_in_time_stops_the_server(tmp_path: Path, runners: list[ProcessRunner]) -> None:
    folder = write_files(tmp_path / "sleepy", {"main.py": "import time\ntime.sleep(60)\n"})
    runner = ProcessRunner(code_path=str(folder), startup_timeout=0.5)
    runners.append(runner)
    with pytest.raises(DeploymentNotReadyError):
        runner.start()
    assert runner._process is None


def test_action_and_app_together_is_an_error(code: Path) -> None:
    with pytest.raises(DeploymentError, match="either action or app"):
        ProcessRunner(code_path=str(code), action="a", app="web:app")


def test_unknown_keywords_are_ignored(code: Path, runners: list[ProcessRunner]) -> None:
    runner = started(runners, code_path=str(code), resources={"cpu": "1"}, retries=3)
    assert runner.run({"x": 0})["status"] == "success"


def test_through_the_factory(plugin: Path, code: Path) -> None:
    registry = StrategyRegistry(entry_points=False)
    config = DeployConfig(code_path=str(plugin), action="double")
    with DeploymentFactory.create("process", config, registry=registry) as software:
        assert software(x=5) == {"status": "success", "output": {"y": 10}}
        assert software.run({"x": 500})["status"] == "error"
    config = DeployConfig(code_path=str(code), env_vars={"MY_VAR": "from config"})
    with DeploymentFactory.create("process", config, registry=registry) as software:
        assert software.endpoint and software.endpoint.startswith("http://127.0.0.1:")
        assert software.run({"x": 1})["output"]["env"] == "from config"
    assert not software.is_healthy()
