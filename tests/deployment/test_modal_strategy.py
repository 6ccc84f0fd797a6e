"""The ``modal`` strategy: the generated Modal app file checked with the real ``modal``
package (modal==1.6.4 in .engines/modal, run in its own Python), and Modal's own token
detection (the environment, ~/.modal.toml's active profile, MODAL_PROFILE) in a temporary
HOME. No Modal token exists here, so the real ``modal deploy`` and ``.remote`` call are not
exercised: a deploy without a token must be the EngineUnavailableError saying how to log in.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from hoist.deployment import DeployConfig, DeploymentFactory
from hoist.deployment.adapter import adapt
from hoist.deployment.strategies.modal import ModalRunner
from hoist.deployment.strategies.modal.runner import APP_FILE, SETTINGS_FILE
from hoist.errors import AdaptationError, DeploymentError, EngineUnavailableError
from tests.conftest import engine_command, write_files

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

TOKENS = """
[other]
token_id = "ak-other"

[work]
token_id = "ak-work"
token_secret = "as-work"
active = true
"""


@pytest.fixture
def modal_cmd() -> str:
    return str(engine_command("modal"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME with no Modal configuration and no MODAL_* credential in the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if name.startswith("MODAL_"):
            monkeypatch.delenv(name)
    return home


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "doubler"
    write_files(folder, {"main.py": MAIN})
    return folder


# ---------------------------------------------------------------- token detection
def test_no_token_is_an_engine_error_saying_how_to_log_in(
    modal_cmd: str, home: Path, code: Path
) -> None:
    missing = ModalRunner.missing(command=modal_cmd)
    assert missing is not None and "a Modal token" in missing
    assert "modal token new" in missing and "modal token set" in missing
    runner = ModalRunner(code_path=str(code), command=modal_cmd)
    with pytest.raises(EngineUnavailableError) as caught:
        runner.start()
    assert "'modal' cannot deploy here" in str(caught.value)
    assert "MODAL_TOKEN_ID" in caught.value.how
    assert not runner.is_healthy()
    envelope = runner.run({"x": 1})  # never a success for an error
    assert envelope["status"] == "error"
    assert envelope["error"]["type"] == "EngineUnavailableError"


def test_a_user_logged_in_through_modal_toml_is_authenticated(modal_cmd: str, home: Path) -> None:
    """Kapso's bug: ~/.modal.toml (here its active profile) must count as logged in."""
    (home / ".modal.toml").write_text(TOKENS)
    assert ModalRunner.missing(command=modal_cmd) is None


def test_modal_profile_picks_the_profile(
    modal_cmd: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / ".modal.toml").write_text(TOKENS)
    monkeypatch.setenv("MODAL_PROFILE", "other")  # a token id without its secret
    missing = ModalRunner.missing(command=modal_cmd)
    assert missing is not None and "profile 'other'" in missing
    monkeypatch.setenv("MODAL_PROFILE", "work")
    assert ModalRunner.missing(command=modal_cmd) is None


def test_token_from_the_environment(
    modal_cmd: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-env")
    assert ModalRunner.missing(command=modal_cmd) is not None  # the secret is missing
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-env")
    assert ModalRunner.missing(command=modal_cmd) is None


def test_a_broken_modal_toml_is_named(modal_cmd: str, home: Path) -> None:
    (home / ".modal.toml").write_text("[a]\nactive = true\n[b]\nactive = true\n")
    missing = ModalRunner.missing(command=modal_cmd)
    assert missing is not None and "More than one Modal profile is active" in missing


def test_with_a_token_the_deploy_is_modal_deploy_and_its_failure_an_error(
    modal_cmd: str, home: Path, code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token is configured but Modal's server is a closed loopback port: the real
    `modal deploy` runs and fails, an error (never a success) and nothing deployed. (The
    real deploy and `.remote` call need a Modal account: not exercised here.)"""
    (home / ".modal.toml").write_text(TOKENS)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("MODAL_SERVER_URL", f"http://127.0.0.1:{closed}")
    log = tmp_path / "modal.log"
    runner = ModalRunner(code_path=str(code), command=modal_cmd, deploy_timeout=5,
                         smoke_inputs={"x": 1}, log_path=str(log))  # fmt: skip
    with pytest.raises(DeploymentError, match="modal deploy") as caught:
        runner.start()
    assert not isinstance(caught.value, EngineUnavailableError)
    assert not runner.is_healthy()
    assert "$ modal deploy --name hoist-doubler hoist_modal_app.py" in log.read_text()
    envelope = runner.run({"x": 1})
    assert envelope["status"] == "error" and "modal deploy" in envelope["error"]["message"]
    runner.stop()


def test_attach_calls_the_deployed_app_through_modal(
    modal_cmd: str, home: Path, code: Path
) -> None:
    """Modal runs the app, so any process attaches from the record; without a token the
    call is Modal's own AuthError as an error envelope."""
    from hoist.deployment.records import DeploymentRecord

    config = {"code_path": str(code), "module": "main", "callable": "predict",
              "env_vars": {}, "timeout": 30, "settings": {"command": modal_cmd}}  # fmt: skip
    record = DeploymentRecord(name="doubler", version=1, strategy="modal", status="running",
                              run_id="r", snapshot="", config=config)  # fmt: skip
    attached = ModalRunner.attach(record)
    assert isinstance(attached, ModalRunner) and attached.app_name == "hoist-doubler"
    envelope = attached.run({"x": 1})
    assert envelope["status"] == "error" and envelope["error"]["type"] == "modal.AuthError"
    assert "hoist-doubler.run" in envelope["error"]["message"]


def test_no_modal_command(tmp_path: Path, code: Path) -> None:
    absent = str(tmp_path / "nowhere" / "modal")
    missing = ModalRunner.missing(command=absent)
    assert missing is not None and "modal command" in missing and "make engines" in missing
    with pytest.raises(EngineUnavailableError, match="modal command"):
        ModalRunner(code_path=str(code), command=absent).start()
    with pytest.raises(EngineUnavailableError, match="modal command"):
        ModalRunner(code_path=str(code), command=absent).check({"x": 1})


# ---------------------------------------------------------------- the app file
def test_the_app_file_runs_with_the_real_modal_package(
    modal_cmd: str, home: Path, code: Path, tmp_path: Path
) -> None:
    runner = ModalRunner(code_path=str(code), command=modal_cmd, env_vars={"MY_SECRET": "s3"},
                         workdir=str(tmp_path / "work"), timeout=30)  # fmt: skip
    folder = runner.prepare()
    assert folder.parent == tmp_path / "work" and folder.name == "hoist-doubler"
    assert sorted(p.name for p in code.iterdir()) == ["main.py"]  # the original untouched
    settings = json.loads((folder / SETTINGS_FILE).read_text())
    assert settings["env_keys"] == ["MY_SECRET"] and settings["app_name"] == "hoist-doubler"
    assert "s3" not in (folder / SETTINGS_FILE).read_text() + (folder / APP_FILE).read_text()
    text = (folder / APP_FILE).read_text()
    assert "modal.App(" in text and "add_local_dir" in text and "Secret.from_dict" in text

    assert runner.check({"x": 21}) == {
        "status": "success", "output": {"doubled": 42, "secret": "s3"}}  # fmt: skip
    failed = runner.check({"fail": "yes"})
    assert failed == {"status": "error",
                      "error": {"type": "ValueError", "message": "asked to fail: yes"}}  # fmt: skip
    assert runner.check() is None  # import only


def test_an_async_callable(modal_cmd: str, home: Path, code: Path) -> None:
    runner = ModalRunner(code_path=str(code), callable="apredict", command=modal_cmd)
    try:
        assert runner.check({"x": 3}) == {"status": "success", "output": {"async": 3}}
    finally:
        runner.stop()
    assert runner.app_dir is None  # its temporary copy is removed


def test_a_missing_callable_is_an_error_envelope(modal_cmd: str, home: Path, code: Path) -> None:
    runner = ModalRunner(code_path=str(code), callable="nope", command=modal_cmd)
    envelope = runner.check({"x": 1})
    assert envelope is not None and envelope["status"] == "error"
    assert envelope["error"]["type"] == "AttributeError" and "nope" in envelope["error"]["message"]


def test_an_app_file_without_run_fails_the_check(
    modal_cmd: str, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "own"
    write_files(folder, {"main.py": MAIN, APP_FILE: "import modal\napp = modal.App('x')\n"})
    with pytest.raises(AdaptationError, match="no Modal function named `run`") as caught:
        ModalRunner(code_path=str(folder), command=modal_cmd).check({"x": 1})
    assert caught.value.check == "modal_app" and caught.value.path == APP_FILE


def test_an_app_file_that_does_not_import_fails_the_check(
    modal_cmd: str, home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "broken"
    write_files(
        folder, {"main.py": MAIN, APP_FILE: "import modal\nraise RuntimeError('bad app')\n"}
    )
    with pytest.raises(AdaptationError, match="bad app") as caught:
        ModalRunner(code_path=str(folder), command=modal_cmd).check()
    assert caught.value.check == "import"


def test_the_adapter_renders_the_app_file_the_runner_checks(
    modal_cmd: str, home: Path, code: Path, tmp_path: Path
) -> None:
    config = DeployConfig(code_path=code, settings={"command": modal_cmd})
    result = adapt(config, "modal", workdir=tmp_path / "adapted", sample_inputs={"x": 1})
    assert result.checks[-2:] == ["modal_app", "smoke"]  # the adapter ran the modal check
    assert APP_FILE in result.files_generated and result.success
    runner = ModalRunner(code_path=result.adapted_path, command=modal_cmd)
    assert runner.check({"x": 5}) == {"status": "success",
                                      "output": {"doubled": 10, "secret": None}}  # fmt: skip
    runner.stop()
    checks = ModalRunner.adapter_check(str(result.adapted_path), {"x": 5}, command=modal_cmd)
    assert checks == ["modal_app", "smoke"]
    with pytest.raises(AdaptationError, match="asked to fail") as caught:
        ModalRunner.adapter_check(str(result.adapted_path), {"fail": 1}, command=modal_cmd)
    assert caught.value.check == "smoke"


# ---------------------------------------------------------------- factory and bad input
def test_the_factory_builds_it_and_start_needs_a_token(
    modal_cmd: str, home: Path, code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(Path(modal_cmd).parent) + os.pathsep + os.environ["PATH"])
    config = DeployConfig(code_path=code, env_vars={"MY_SECRET": "x"})
    software = DeploymentFactory.create("modal", config)
    assert isinstance(software.runner, ModalRunner)
    assert software.runner.env_vars == {"MY_SECRET": "x"}
    assert software.runner.app_name == "hoist-doubler"
    with pytest.raises(EngineUnavailableError, match="modal token new"):
        software.start()
    envelope = software.run({"x": 1})
    assert envelope["status"] == "error" and "Modal token" in envelope["error"]["message"]


@pytest.mark.parametrize("kwargs", [{"action": "double"}, {"app": "main:app"}])
def test_an_action_or_an_app_is_refused(kwargs: dict[str, str], code: Path) -> None:
    with pytest.raises(DeploymentError, match="serves a callable"):
        ModalRunner(code_path=str(code), **kwargs)


def test_no_code_folder(modal_cmd: str, tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="needs a code folder"):
        ModalRunner(code_path=str(tmp_path / "absent"), command=modal_cmd).prepare()
