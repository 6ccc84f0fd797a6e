"""The ``bentoml`` strategy end to end: a generated BentoML service served by the real
``bentoml serve`` of ``.engines/bentoml`` (``make engines``) on 127.0.0.1, called over
real HTTP, its whole process group stopped by each test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")

from hoist.deployment import DeployConfig, DeployedSoftware, DeploymentFactory  # noqa: E402
from hoist.deployment.strategies.bentoml import BentoMLRunner  # noqa: E402
from hoist.errors import DeploymentError, EngineUnavailableError  # noqa: E402
from tests.conftest import engine_command, write_files  # noqa: E402
from tests.deployment.conftest import SAMPLE_MAIN  # noqa: E402

MAIN = (
    SAMPLE_MAIN
    + """
import os


class QuotaError(Exception):
    pass


def with_env(inputs):
    return {"env": os.environ.get("MY_VAR"), "cwd_has_service": os.path.exists("service.py")}


def over_quota(inputs):
    raise QuotaError("no more calls today")


async def slow(inputs):
    import asyncio

    await asyncio.sleep(inputs.get("seconds", 0))
    return {"slept": inputs.get("seconds", 0)}
"""
)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def bentoml_bin() -> Path:
    return engine_command("bentoml").parent


@pytest.fixture(scope="module")
def deployed(bentoml_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[DeployedSoftware, Path, Path]
]:  # fmt: skip
    """The sample code deployed once through the factory (``bentoml`` found on PATH),
    with an environment variable and a log file; stopped at the end of the module."""
    root = tmp_path_factory.mktemp("bentoml")
    code = write_files(root / "sample", {"main.py": MAIN})
    log = root / "deployments" / "sample" / "1.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{bentoml_bin}{os.pathsep}{os.environ['PATH']}")
        config = DeployConfig(code_path=str(code), env_vars={"MY_VAR": "from hoist"},
                              log_path=str(log))  # fmt: skip
        software = DeploymentFactory.create("bentoml", config)
        try:
            software.start()
            yield software, code, log
        finally:
            software.stop()


def test_callable_answers_the_envelope_over_http(
    deployed: tuple[DeployedSoftware, Path, Path],
) -> None:
    software, code, log = deployed
    assert software.run({"x": 21}) == {"status": "success", "output": {"doubled": 42}}
    assert software.is_healthy()
    endpoint = software.endpoint
    assert endpoint is not None and endpoint.startswith("http://127.0.0.1:")
    answer = httpx.post(f"{endpoint}/predict", json={"x": 2})
    assert answer.json() == {"status": "success", "output": {"doubled": 4}}
    assert httpx.get(f"{endpoint}/readyz").status_code == 200
    # generated on a copy next to the log; the original code is untouched
    project = log.with_suffix(".bentoml")
    assert {"service.py", "bentofile.yaml", "main.py"} <= {p.name for p in project.iterdir()}
    assert "@bentoml.service" in (project / "service.py").read_text()
    assert sorted(p.name for p in code.iterdir()) == ["main.py"]


def test_an_exception_is_an_error_envelope(
    deployed: tuple[DeployedSoftware, Path, Path],
) -> None:
    software, _, _ = deployed
    answer = software.run({"fail": "now"})
    assert answer == {"status": "error",
                      "error": {"type": "ValueError", "message": "asked to fail: now"}}  # fmt: skip
    assert software.run({"x": 1})["status"] == "success"  # the service lives on
    raw = httpx.post(f"{software.endpoint}/predict", json={"fail": 1})
    assert raw.status_code == 500


def test_logs_go_to_the_log_path(deployed: tuple[DeployedSoftware, Path, Path]) -> None:
    software, _, log = deployed
    software.run({"x": 5})
    text = log.read_text()
    assert "Starting production HTTP BentoServer" in text
    assert "Service sample initialized" in text
    assert "BentoServer" in software.logs()


def test_env_vars_reach_the_service_and_stop_leaves_nothing(
    bentoml_bin: Path, tmp_path: Path
) -> None:
    code = write_files(tmp_path / "code", {"main.py": MAIN})
    runner = BentoMLRunner(code_path=str(code), callable="with_env", env_vars={"MY_VAR": "42"},
                           command=str(bentoml_bin / "bentoml"))  # fmt: skip
    try:
        runner.start()
        answer = runner.run({})
        assert answer == {"status": "success", "output": {"env": "42", "cwd_has_service": True}}
        assert runner._process is not None
        pgid = runner._process.pid
    finally:
        runner.stop()
    assert _group_gone(pgid)  # the arbiter and its workers: nothing left running
    assert not runner.is_healthy()
    assert "Service" in runner.get_logs()  # the logs outlive the server
    assert sorted(p.name for p in code.iterdir()) == ["main.py"]


def test_a_custom_exception_type_is_qualified(bentoml_bin: Path, tmp_path: Path) -> None:
    code = write_files(tmp_path / "code", {"main.py": MAIN})
    runner = BentoMLRunner(code_path=str(code), callable="over_quota",
                           command=str(bentoml_bin / "bentoml"))  # fmt: skip
    try:
        runner.start()
        answer = runner.run({})
    finally:
        runner.stop()
    error = {"type": "main.QuotaError", "message": "no more calls today"}
    assert answer == {"status": "error", "error": error}


def test_a_call_over_its_timeout_is_an_error(bentoml_bin: Path, tmp_path: Path) -> None:
    code = write_files(tmp_path / "code", {"main.py": MAIN})
    runner = BentoMLRunner(code_path=str(code), callable="slow", timeout=0.5,
                           command=str(bentoml_bin / "bentoml"))  # fmt: skip
    try:
        runner.start()
        answer = runner.run({"seconds": 30})
        assert answer["status"] == "error" and answer["error"]["type"] == "TimeoutError"
        assert "0.5 s" in answer["error"]["message"]
        assert runner.run({}) == {"status": "success", "output": {"slept": 0}}
    finally:
        runner.stop()


def test_a_bad_import_is_a_clear_error_and_nothing_runs(bentoml_bin: Path, tmp_path: Path) -> None:
    code = write_files(tmp_path / "code", {"main.py": "import no_such_package_here\n"})
    runner = BentoMLRunner(code_path=str(code), command=str(bentoml_bin / "bentoml"),
                           log_path=str(tmp_path / "d" / "1.log"))  # fmt: skip
    with pytest.raises(DeploymentError) as caught:
        runner.start()
    assert "no_such_package_here" in str(caught.value)
    assert "exited" in str(caught.value)
    assert runner._process is None and not runner.is_healthy()
    assert "no_such_package_here" in (tmp_path / "d" / "1.log").read_text()


def test_missing_module_is_refused_before_serving(bentoml_bin: Path, tmp_path: Path) -> None:
    code = write_files(tmp_path / "code", {"other.py": ""})
    runner = BentoMLRunner(code_path=str(code), command=str(bentoml_bin / "bentoml"))
    with pytest.raises(DeploymentError, match="module 'main' is not in"):
        runner.start()


def test_a_plugin_action_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="needs Hoist"):
        BentoMLRunner(code_path=str(tmp_path), action="double")


def test_bentoml_not_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert BentoMLRunner.missing() is not None
    assert "bentoml command" in str(BentoMLRunner.missing())
    code = write_files(tmp_path / "code", {"main.py": SAMPLE_MAIN})
    runner = BentoMLRunner(code_path=str(code))
    with pytest.raises(EngineUnavailableError) as caught:
        runner.start()
    assert "bentoml command" in str(caught.value) and "make engines" in str(caught.value)
    assert runner.run({"x": 1})["status"] == "error"  # never a success


def test_missing_finds_the_engine(bentoml_bin: Path) -> None:
    assert BentoMLRunner.missing(command=str(bentoml_bin / "bentoml")) is None


def test_cloud_without_credentials(
    bentoml_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BENTO_CLOUD_API_KEY", raising=False)
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml-home"))  # no login state
    command = str(bentoml_bin / "bentoml")
    assert BentoMLRunner.missing(command=command, target="cloud") == "BentoCloud credentials"
    code = write_files(tmp_path / "code", {"main.py": SAMPLE_MAIN})
    runner = BentoMLRunner(code_path=str(code), command=command, target="cloud")
    with pytest.raises(EngineUnavailableError) as caught:
        runner.start()
    message = str(caught.value)
    assert "BentoCloud credentials is missing" in message
    assert "bentoml cloud login" in message and "BENTO_CLOUD_API_KEY" in message
    assert runner.endpoint is None


def test_cloud_login_state_counts_as_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoist.deployment.strategies.bentoml.cloud import cloud_credentials

    home = tmp_path / "bentoml-home"
    home.mkdir()
    (home / ".yatai.yaml").write_text(
        "contexts:\n- name: default\n  endpoint: https://x.cloud.bentoml.com\n"
        "  api_token: tok\ncurrent_context_name: default\n"
    )
    env = {"BENTOML_HOME": str(home)}
    assert "bentoml cloud login" in str(cloud_credentials(env))
    assert cloud_credentials({"BENTO_CLOUD_API_KEY": "k"}) is not None
    assert cloud_credentials({"BENTOML_HOME": str(tmp_path)}) is None


def test_unknown_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match=r"settings\.target must be 'local' or 'cloud'"):
        BentoMLRunner(code_path=str(tmp_path), target="moon")


def test_the_adapter_writes_a_project_bentoml_serves(bentoml_bin: Path, tmp_path: Path) -> None:
    from hoist.deployment.adapter import adapt
    from tests.waiting import wait_answering

    code = write_files(tmp_path / "code", {"main.py": SAMPLE_MAIN})
    result = adapt(DeployConfig(code_path=str(code)), "bentoml", workdir=tmp_path / "work",
                   sample_inputs={"x": 1})  # fmt: skip
    assert sorted(result.files_generated) == ["bentofile.yaml", "service.py"]
    project = Path(result.adapted_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [str(bentoml_bin / "bentoml"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True"}
    proc = subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        wait_answering(proc, f"http://127.0.0.1:{port}/readyz", timeout=120)
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={"x": 4}).json()
        assert answer == {"status": "success", "output": {"doubled": 8}}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)  # reaped, its pipe read and closed


OWNER = """
import json, sys, time
from hoist.deployment.strategies.bentoml import BentoMLRunner

runner = BentoMLRunner(code_path=sys.argv[1], command=sys.argv[2])
runner.start()
print(json.dumps({"pid": runner._process.pid, "endpoint": runner.endpoint}), flush=True)
time.sleep(600)
"""


def test_the_server_stops_when_its_owner_process_is_killed(
    bentoml_bin: Path, tmp_path: Path
) -> None:
    import json
    import sys

    from tests.waiting import wait_until

    code = write_files(tmp_path / "code", {"main.py": SAMPLE_MAIN})
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(code), str(bentoml_bin / "bentoml")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert owner.stdout is not None
    try:
        started = json.loads(owner.stdout.readline())
        answer = httpx.post(f"{started['endpoint']}/predict", json={"x": 1}).json()
        assert answer == {"status": "success", "output": {"doubled": 2}}
    finally:
        owner.kill()
        owner.communicate(timeout=30)
    try:
        wait_until(lambda: _group_gone(started["pid"]), 60, "bentoml serve to stop")
    finally:
        if not _group_gone(started["pid"]):
            os.killpg(started["pid"], signal.SIGKILL)
