"""`hoist deploy` and `hoist deployments ...`: a real `hoist deploy` process serving a real
uvicorn server, inspected, called and stopped from the CLI in-process; bad input and a
failed deploy without a server."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HOIST, write_files
from tests.waiting import wait_until

CODE = """\
import os

VERSION = {version}

def predict(inputs):
    return {{"version": VERSION, "x": inputs.get("x"), "greeting": os.environ.get("GREETING")}}
"""


class Deploying:
    """A `hoist deploy` process; its stdout read line by line in the background."""

    def __init__(self, home: Path, *args: str) -> None:
        env = {**os.environ, "HOIST_HOME": str(home), "COLUMNS": "200"}
        self.proc = subprocess.Popen(
            [*HOIST, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def endpoint(self) -> str:
        """The endpoint it printed once the deployment runs."""

        def printed() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"hoist deploy ended: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            found = [line for line in self.lines if line.startswith("endpoint: ")]
            return found[0].removeprefix("endpoint: ").strip() if found else None

        return wait_until(printed, timeout=60, what="hoist deploy printing its endpoint")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def deploys(hoist_home: Path) -> Iterator[Any]:
    """Start `hoist deploy ARGS` processes; each killed at the end if still running."""
    started: list[Deploying] = []

    def start(*args: str) -> Deploying:
        started.append(Deploying(hoist_home, *args))
        return started[-1]

    yield start
    for item in started:
        item.close()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write_files(tmp_path / "model", {"main.py": CODE.format(version=1)})


def test_deploy_serves_until_stopped_from_another_command(
    hoist: Any, deploys: Any, code: Path
) -> None:
    deploying = deploys("deploy", str(code), "-s", "process", "--name", "m",
                        "--env", "GREETING=hi")  # fmt: skip
    endpoint = deploying.endpoint()
    answer = httpx.post(f"{endpoint}/predict", json={"x": 2}).json()
    assert answer == {"status": "success",
                      "output": {"version": 1, "x": 2, "greeting": "hi"}}  # fmt: skip
    out = "".join(deploying.lines)
    assert "health finished" in out and "deployment m v1 (process) is running" in out

    (listed,) = hoist("deployments", "list", "--json").json()
    assert (listed["name"], listed["status"], listed["endpoint"]) == ("m", "running", endpoint)
    assert listed["owner"].endswith(f":{deploying.proc.pid}")
    shown = hoist("deployments", "show", "m", "--json").json()
    assert shown["config"]["env_vars"] == {"GREETING": "hi"}
    assert [v["version"] for v in shown["versions"]] == [1]
    text = hoist("deployments", "show", "m")
    assert endpoint in text.out and "running" in text.out

    elsewhere = hoist("deployments", "invoke", "m", "-p", "x=1")  # called at its endpoint
    assert elsewhere.code == 0, elsewhere.err
    assert json.loads(elsewhere.out)["output"] == {"version": 1, "x": "1", "greeting": "hi"}

    stopped = hoist("deployments", "stop", "m")
    assert stopped.code == 0, stopped.err
    assert "stopped" in stopped.out
    assert deploying.proc.wait(timeout=30) == 0
    assert hoist("deployments", "show", "m", "--json").json()["status"] == "stopped"
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{endpoint}/predict", json={"x": 2})


def test_rollback_serves_a_previous_version(hoist: Any, deploys: Any, code: Path) -> None:
    first = deploys("deploy", str(code), "-s", "process", "--name", "m")
    first.endpoint()
    assert hoist("deployments", "stop", "m").code == 0
    (code / "main.py").write_text(CODE.format(version=2))
    second = deploys("deploy", str(code), "-s", "process", "--name", "m")
    second.endpoint()
    assert hoist("deployments", "stop", "m").code == 0
    back = deploys("deployments", "rollback", "m", "--to", "1")
    endpoint = back.endpoint()
    assert httpx.post(f"{endpoint}/predict", json={}).json()["output"]["version"] == 1
    shown = hoist("deployments", "show", "m", "--json").json()
    assert (shown["version"], shown["status"]) == (1, "running")
    assert hoist("deployments", "stop", "m").code == 0
    assert back.proc.wait(timeout=30) == 0


def test_deploy_bad_input_is_exit_2_and_records_nothing(
    hoist: Any, code: Path, tmp_path: Path
) -> None:
    unknown = hoist("deploy", str(code), "-s", "proces")
    assert unknown.code == 2
    assert "unknown strategy 'proces'" in unknown.err and "did you mean 'process'" in unknown.err
    missing = hoist("deploy", str(tmp_path / "nope"), "-s", "local")
    assert missing.code == 2 and "is not a folder" in missing.err
    env = hoist("deploy", str(code), "-s", "local", "--env", "GREETING")
    assert env.code == 2 and "--env" in env.err and "KEY=VALUE" in env.err
    setting = hoist("deploy", str(code), "-s", "local", "--set", "x")
    assert setting.code == 2 and "--set" in setting.err and "KEY=VALUE" in setting.err
    listed = hoist("deploy", str(code), "-s", "local", "--set", "x=[1]")
    assert listed.code == 2 and "expected one value" in listed.err
    unknown_setting = hoist("deploy", str(code), "-s", "local", "--set", "nope=1")
    assert unknown_setting.code == 2 and "no setting 'nope'" in unknown_setting.err
    bad_name = hoist("deploy", str(code), "-s", "local", "--name", "bad name!")
    assert bad_name.code == 2 and "bad name!" in bad_name.err
    assert hoist("deployments", "list").out.strip() == "no deployments"


def test_a_failed_deploy_exits_1_naming_the_step(hoist: Any, tmp_path: Path) -> None:
    broken = write_files(tmp_path / "broken", {"main.py": "import not_a_module_here\n"})
    result = hoist("deploy", str(broken), "-s", "local", "--ready-timeout", "30")
    assert result.code == 1
    assert "failed at step" in result.err and "not_a_module_here" in result.err
    shown = hoist("deployments", "show", "broken", "--json").json()
    assert shown["status"] == "failed" and "not_a_module_here" in shown["error"]


def test_unknown_deployment_is_bad_input(hoist: Any) -> None:
    for command in ("show", "logs", "invoke", "stop", "rollback"):
        result = hoist("deployments", command, "nope")
        assert result.code == 2, (command, result.err)
        assert "unknown deployment 'nope'" in result.err
