"""The ``docker`` strategy: the generated build context, its CMD proven with the real
``process`` strategy (uvicorn in its own process on a free loopback port) and run as the
literal command; with a reachable engine, a real build, container, health check and call
(skipped here: no Docker engine runs on this machine; required under CI); without one,
the EngineUnavailableError naming ``docker info``'s error and how to provide an engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from hoist._net import free_port  # noqa: E402
from hoist.deployment import DeployConfig, DeploymentFactory  # noqa: E402
from hoist.deployment.adapter import adapt  # noqa: E402
from hoist.deployment.strategies.docker import DockerRunner  # noqa: E402
from hoist.deployment.strategies.docker.context import command_app  # noqa: E402
from hoist.deployment.strategies.process import ProcessRunner  # noqa: E402
from hoist.errors import AdaptationError, DeploymentError, EngineUnavailableError  # noqa: E402
from tests.conftest import write_files  # noqa: E402
from tests.waiting import wait_answering  # noqa: E402

MAIN = """
import asyncio
import os

def predict(inputs):
    if inputs.get("fail"):
        raise ValueError("asked to fail: " + str(inputs["fail"]))
    return {"doubled": inputs["x"] * 2, "secret": os.environ.get("MY_SECRET")}

async def apredict(inputs):
    await asyncio.sleep(0)
    return {"async": inputs["x"]}
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "doubler"
    write_files(folder, {"main.py": MAIN})
    return folder


# ---------------------------------------------------------------- build context and proof
def test_the_build_context(code: Path, tmp_path: Path) -> None:
    runner = DockerRunner(code_path=str(code), env_vars={"MY_SECRET": "s3"},
                          workdir=str(tmp_path / "ctx"))  # fmt: skip
    context = runner.prepare()
    assert context == tmp_path / "ctx" / "hoist-doubler"
    names = sorted(p.name for p in context.iterdir())
    assert names == [".dockerignore", "Dockerfile", "hoist_server.py", "main.py"]
    assert sorted(p.name for p in code.iterdir()) == ["main.py"]  # the original untouched
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile and "EXPOSE 8000" in dockerfile
    assert command_app(context / "Dockerfile") == "hoist_server:app"
    assert not any("s3" in p.read_text() for p in context.iterdir())  # values stay in memory


def test_the_cmd_is_proven_with_the_process_strategy(code: Path) -> None:
    runner = DockerRunner(code_path=str(code), env_vars={"MY_SECRET": "s3"})
    try:
        assert runner.prove({"x": 21}) == {
            "status": "success", "output": {"doubled": 42, "secret": "s3"}}  # fmt: skip
        failed = runner.prove({"fail": "yes"})
        error = {"type": "ValueError", "message": "asked to fail: yes"}
        assert failed == {"status": "error", "error": error}
        assert runner.prove() is None  # /health only
    finally:
        runner.stop()
    assert runner.context is None  # its temporary context is removed


def test_the_literal_cmd_runs_and_answers_like_the_process_strategy(
    code: Path, tmp_path: Path
) -> None:
    """The Dockerfile's CMD itself (its python and uvicorn here, a loopback port) answers
    what the process strategy answers for the same code."""
    context = DockerRunner(code_path=str(code), workdir=str(tmp_path / "ctx")).prepare()
    cmd_line = next(x for x in (context / "Dockerfile").read_text().splitlines()
                    if x.startswith("CMD "))  # fmt: skip
    argv = json.loads(cmd_line[4:])
    assert argv[:3] == ["python", "-m", "uvicorn"]
    port = free_port()
    argv[0] = sys.executable
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    env = {**os.environ, "MY_SECRET": "from-env"}
    server = subprocess.Popen(argv, cwd=context, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    process = ProcessRunner(code_path=str(code), env_vars={"MY_SECRET": "from-env"})
    try:
        url = f"http://127.0.0.1:{port}"
        wait_answering(server, url + "/health")
        process.start()
        with httpx.Client(base_url=url, timeout=30) as http:
            for inputs in ({"x": 4}, {"fail": "no"}):
                answer = http.post("/predict", json=inputs)
                assert answer.json() == process.run(inputs)
            assert http.post("/predict", json={"fail": "no"}).status_code == 500
            bad = http.post("/predict", content=b"[1, 2]")
            assert bad.status_code == 422 and bad.json()["error"]["type"] == "InvalidInputs"
            assert http.post("/predict", content=b"{nope").status_code == 422
            assert http.get("/health").json() == {"status": "ok"}
            assert http.get("/elsewhere").status_code == 404
    finally:
        process.stop()
        server.terminate()
        server.communicate(timeout=10)  # reaps it and closes its stderr pipe


def test_an_async_callable_is_served(code: Path) -> None:
    runner = DockerRunner(code_path=str(code), callable="apredict")
    try:
        assert runner.prove({"x": 3}) == {"status": "success", "output": {"async": 3}}
    finally:
        runner.stop()


def test_code_that_does_not_import_fails_the_proof(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    write_files(folder, {"main.py": "raise RuntimeError('cannot import me')\n"})
    runner = DockerRunner(code_path=str(folder), startup_timeout=30)
    try:
        with pytest.raises(AdaptationError, match="cannot import me") as caught:
            runner.prove()
        assert caught.value.check == "command"
    finally:
        runner.stop()


def test_a_wrong_callable_fails_the_proof(code: Path) -> None:
    runner = DockerRunner(code_path=str(code), callable="nope", startup_timeout=30)
    try:
        with pytest.raises(AdaptationError, match="nope"):
            runner.prove()
    finally:
        runner.stop()


def test_a_dockerfile_whose_cmd_cannot_be_proven(tmp_path: Path) -> None:
    folder = tmp_path / "own"
    own = 'FROM python:3.11-slim\nCMD ["python", "serve.py"]\n'
    write_files(folder, {"main.py": MAIN, "Dockerfile": own})
    runner = DockerRunner(code_path=str(folder))
    try:
        context = runner.prepare()
        assert (context / "Dockerfile").read_text() == own  # the code's own file is kept
        with pytest.raises(AdaptationError, match="not `uvicorn module:app") as caught:
            runner.prove()
        assert caught.value.check == "command" and caught.value.path == "Dockerfile"
    finally:
        runner.stop()


def test_the_adapter_renders_the_context(code: Path, tmp_path: Path) -> None:
    result = adapt(DeployConfig(code_path=code), "docker", workdir=tmp_path / "adapted",
                   sample_inputs={"x": 1})  # fmt: skip
    assert result.success
    assert sorted(result.files_generated) == [".dockerignore", "Dockerfile", "hoist_server.py"]
    assert command_app(Path(str(result.adapted_path)) / "Dockerfile") == "hoist_server:app"
    checks = DockerRunner.adapter_check(str(result.adapted_path), {"x": 5})
    assert checks == ["command", "smoke"]
    with pytest.raises(AdaptationError, match="asked to fail") as caught:
        DockerRunner.adapter_check(str(result.adapted_path), {"fail": 1}, env_vars={"A": "b"})
    assert caught.value.check == "smoke"


# ---------------------------------------------------------------- the engine
def test_no_engine_is_an_error_naming_docker_info(
    code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    missing = DockerRunner.missing()
    assert missing is not None and "no-docker.sock" in missing and "docker info" in missing
    assert "DOCKER_HOST" in missing and "dockerd" in missing
    runner = DockerRunner(code_path=str(code))
    with pytest.raises(EngineUnavailableError, match="a reachable Docker engine") as caught:
        runner.start()
    assert "start the Docker daemon" in caught.value.how
    assert runner.context is None and runner.container is None  # nothing built or left
    envelope = runner.run({"x": 1})  # never a success for an error
    assert envelope["status"] == "error" and envelope["error"]["type"] == "EngineUnavailableError"
    assert not runner.is_healthy()


def test_no_docker_command(code: Path, tmp_path: Path) -> None:
    absent = str(tmp_path / "nowhere" / "docker")
    missing = DockerRunner.missing(command=absent)
    assert missing is not None and "docker command" in missing
    with pytest.raises(EngineUnavailableError, match="docker command"):
        DockerRunner(code_path=str(code), command=absent).start()


def test_the_factory_builds_it(code: Path) -> None:
    config = DeployConfig(code_path=code, env_vars={"MY_SECRET": "x"})
    software = DeploymentFactory.create("docker", config)
    assert isinstance(software.runner, DockerRunner)
    assert software.runner.env_vars == {"MY_SECRET": "x"} and software.runner.prove_first


@pytest.mark.parametrize("kwargs", [{"action": "double"}, {"app": "main:app"}])
def test_an_action_or_an_app_is_refused(kwargs: dict[str, str], code: Path) -> None:
    with pytest.raises(DeploymentError, match="serves a callable"):
        DockerRunner(code_path=str(code), **kwargs)


def test_no_code_folder(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="needs a code folder"):
        DockerRunner(code_path=str(tmp_path / "absent")).prepare()


def test_attach_reaches_the_deployment_at_the_records_endpoint(code: Path) -> None:
    """Another process attaches through the record: the container's name comes from the
    code folder and the published port; calls go to the endpoint (here the proven CMD's
    app served by the process strategy, as no engine runs here)."""
    from hoist.deployment.records import DeploymentRecord

    served = DockerRunner(code_path=str(code))
    process = ProcessRunner(code_path=str(served.prepare()), app="hoist_server:app")
    process.start()
    try:
        config = {"code_path": str(code), "module": "main", "callable": "predict"}
        record = DeploymentRecord(name="doubler", version=1, strategy="docker", status="running",
                                  run_id="r", snapshot="", endpoint=process.endpoint,
                                  config=config)  # fmt: skip
        attached = DockerRunner.attach(record)
        assert isinstance(attached, DockerRunner)
        port = str(process.endpoint).rsplit(":", 1)[1]
        assert attached.container == f"hoist-doubler-{port}"
        assert attached.is_healthy()
        assert attached.run({"x": 2})["output"]["doubled"] == 4
        attached.close()  # the manager closes what it attached; the deployment keeps running
        assert process.is_healthy()
        assert DockerRunner.attach(record.model_copy(update={"endpoint": None})) is None
    finally:
        process.stop()
        served.stop()


def test_build_run_health_call_and_remove(code: Path, tmp_path: Path) -> None:
    """With a reachable engine: the real build, container, health check and calls."""
    missing = DockerRunner.missing()
    if missing is not None:
        # No Docker engine runs on this machine or CI's: skipped, not failed, under CI (the
        # error saying so is tested above and by the contract suite).
        pytest.skip(f"a Docker engine: {missing}")
    log = tmp_path / "docker.log"
    runner = DockerRunner(code_path=str(code), env_vars={"MY_SECRET": "in-container"},
                          log_path=str(log), smoke_inputs={"x": 1})  # fmt: skip
    try:
        runner.start()
        assert runner.is_healthy() and runner.endpoint is not None
        assert runner.endpoint.startswith("http://127.0.0.1:")
        assert runner.run({"x": 5}) == {
            "status": "success", "output": {"doubled": 10, "secret": "in-container"}}  # fmt: skip
        failed = runner.run({"fail": "boom"})
        assert failed["status"] == "error" and failed["error"]["type"] == "ValueError"
        container = runner.container
    finally:
        runner.stop()
    assert not runner.is_healthy()
    gone = subprocess.run(["docker", "inspect", str(container)], capture_output=True)
    assert gone.returncode != 0  # the container is removed
    assert "docker build" in log.read_text()
