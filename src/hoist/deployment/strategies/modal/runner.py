"""``ModalRunner``: the callable as a Modal function, deployed with ``modal deploy`` and
called with ``modal.Function.from_name(app, "run").remote(inputs)``.

Everything Modal runs in the modal environment's Python (`ModalEngine`), never in Hoist's
process. The runner writes the app file (``hoist_modal_app.py``, from this strategy's
template) into a copy of the code and checks it with the real ``modal`` package: the file
imports, defines a ``modal.App`` and the function ``run``, and ``run.local(inputs)``
answers (`ModalRunner.check`). Deploying needs a Modal token configured in any way Modal
accepts; without one `ModalRunner.start` raises `EngineUnavailableError` saying how to log in.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist.deployment.base import Runner, refuse_action_or_app
from hoist.deployment.envelope import error_envelope
from hoist.deployment.strategies.modal.engine import (
    CALL_SCRIPT,
    CHECK_SCRIPT,
    STRATEGY,
    ModalEngine,
)
from hoist.errors import AdaptationError, DeploymentError, EngineUnavailableError

if TYPE_CHECKING:
    from hoist.deployment.records import DeploymentRecord

__all__ = ["APP_FILE", "SETTINGS_FILE", "ModalRunner"]

APP_FILE = "hoist_modal_app.py"
SETTINGS_FILE = "hoist_modal.json"
_TEMPLATE = Path(__file__).parent / "templates" / (APP_FILE + ".tmpl")
_IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".venv", "*.pyc", ".mypy_cache")
_LOG_TAIL = 64 * 1024


class ModalRunner(Runner):
    """Deploy ``module:callable`` of a code folder as a Modal function.

    Args:
        code_path: the code folder (copied; the original is never touched).
        module: the module holding the callable (``main`` → ``main.py``).
        callable: the function called with the inputs dict.
        env_vars: environment variables the function sees (a ``modal.Secret.from_dict``
            whose values are read from the deploying process, never written to a file).
        timeout: seconds one call may take (the function's ``timeout``).
        resources: ``gpu`` (a Modal GPU type such as ``"T4"``, or true for ``"any"``).
        log_path: where the output of ``modal deploy`` / ``modal app stop`` is appended.
        command: the ``modal`` executable (PATH by default).
        python: the modal environment's Python (default: ``python`` next to ``command``).
        app_name: the Modal app's name (default ``hoist-<code folder>``).
        environment: the Modal environment (``modal deploy --env``; default Modal's own).
        python_version: the image's Python.
        workdir: where the copy is made (a temporary folder by default).
        smoke_inputs: inputs `start` runs locally through the app file before deploying.
        deploy_timeout: seconds ``modal deploy`` may take.
        check_timeout: seconds the app file's check (import and local call) may take.
        **kwargs: ignored (``action``/``app`` must be None: a callable only).
    """

    def __init__(
        self,
        code_path: str | None = None,
        module: str = "main",
        callable: str = "predict",
        *,
        action: str | None = None,
        app: str | None = None,
        env_vars: dict[str, str] | None = None,
        timeout: float = 300.0,
        resources: dict[str, Any] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        command: str | None = None,
        python: str | None = None,
        app_name: str | None = None,
        environment: str | None = None,
        python_version: str = "3.11",
        workdir: str | None = None,
        smoke_inputs: dict[str, Any] | None = None,
        deploy_timeout: float = 900.0,
        check_timeout: float = 120.0,
        **kwargs: Any,
    ) -> None:
        refuse_action_or_app(STRATEGY, action, app)
        self.code_path = str(Path(code_path).resolve()) if code_path else None
        self.module, self.callable = module, callable
        self.env_vars = dict(env_vars or {})
        self.timeout = timeout
        self.resources = dict(resources or {})
        self.log_path = None if log_path is None else Path(log_path)
        self.engine = ModalEngine(command, python)
        folder = Path(self.code_path).name if self.code_path else callable
        self.app_name = app_name or _app_name(folder)
        self.environment = environment
        self.python_version = python_version
        self.workdir = workdir
        self.smoke_inputs = smoke_inputs
        self.deploy_timeout = deploy_timeout
        self.check_timeout = check_timeout
        self.endpoint: str | None = None  # called through Modal, not over HTTP
        self.app_dir: Path | None = None
        self._own_dir: Path | None = None
        self._deployed = False
        self._logs = ""

    @classmethod
    def missing(cls, command: str | None = None, python: str | None = None,
                **settings: Any) -> str | None:  # fmt: skip
        """What deploying needs that is not here (the modal command, a Modal token), with
        how to provide it; None when it can deploy."""
        gap = ModalEngine(command, python).unavailable()
        return None if gap is None else f"{gap.missing}; {gap.how}"

    @classmethod
    def attach(cls, record: DeploymentRecord) -> Runner | None:
        """A runner calling (and able to stop) the Modal app ``record`` deployed: Modal
        runs it, so any process with a token reaches it."""
        config = {k: v for k, v in record.config.items() if k != "settings"}
        settings = record.config.get("settings") or {}
        try:
            runner = cls(**{**config, **settings})
        except (DeploymentError, TypeError):
            return None
        runner._deployed = record.status == "running"
        return runner

    @classmethod
    def adapter_check(cls, adapted_path: str, inputs: dict[str, Any] | None = None,
                      **config: Any) -> list[str]:  # fmt: skip
        """The adapter's strategy check of an adapted copy: its app file imported with the
        real modal package and, given ``inputs``, run locally (`check`); the checks passed.

        Args:
            adapted_path: the adapted copy (``hoist_modal_app.py`` rendered in it).
            inputs: the smoke call's inputs (None: import only).
            **config: the deploy config's and strategy's keywords (module, env_vars, ...).

        Raises:
            AdaptationError: a check failed; ``smoke`` also when the call answers an error.
        """
        runner = cls(**{**config, "code_path": adapted_path})
        try:
            envelope = runner.check(inputs)
        finally:
            runner.stop()
        if envelope is not None and envelope.get("status") != "success":
            raise AdaptationError(f"check smoke: {APP_FILE}: run.local answered {envelope}",
                                  strategy=STRATEGY, check="smoke", path=APP_FILE)  # fmt: skip
        return ["modal_app"] + (["smoke"] if inputs is not None else [])

    # ------------------------------------------------------------------ the app file
    def prepare(self) -> Path:
        """Copy the code and write the Modal app file and its settings into the copy.

        Returns:
            The copy's folder (``hoist_modal_app.py`` in it; a file of that name the code
            already has is kept).

        Raises:
            DeploymentError: no code folder.
        """
        if not self.code_path or not Path(self.code_path).is_dir():
            raise DeploymentError(f"the modal strategy needs a code folder, got "
                                  f"{self.code_path!r}", strategy=STRATEGY)  # fmt: skip
        if self.app_dir is not None and self.app_dir.is_dir():
            shutil.rmtree(self.app_dir, ignore_errors=True)
        root = Path(self.workdir) if self.workdir else Path(tempfile.mkdtemp(prefix="hoist-modal-"))
        if not self.workdir:
            self._own_dir = root
        target = root / self.app_name
        shutil.copytree(self.code_path, target, ignore=_IGNORED, dirs_exist_ok=True)
        if not (target / APP_FILE).exists():
            values = {"name": Path(self.code_path).name, "strategy": STRATEGY,
                      "module": self.module, "callable": self.callable,
                      "target": f"{self.module}:{self.callable}"}  # fmt: skip
            quoted = {k: json.dumps(v) for k, v in values.items()}
            text = string.Template(_TEMPLATE.read_text()).substitute(quoted)
            (target / APP_FILE).write_text(text)
        (target / SETTINGS_FILE).write_text(json.dumps(self._app_settings(), indent=2))
        self.app_dir = target
        return target

    def _app_settings(self) -> dict[str, Any]:
        gpu = self.resources.get("gpu")
        return {
            "app_name": self.app_name,
            "env_keys": sorted(self.env_vars),  # names only: the values stay in memory
            "timeout": max(1, int(self.timeout)),
            "gpu": ("any" if gpu is True else gpu) or None,
            "python_version": self.python_version,
        }

    def check(self, inputs: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Import the app file with the real ``modal`` package (in its environment) and,
        given ``inputs``, run the function locally (``run.local(inputs)``), with the
        deployment's ``env_vars`` set. No token is needed.

        Returns:
            The function's envelope for ``inputs`` (None without inputs).

        Raises:
            AdaptationError: the file does not import, is not a Modal app with a ``run``
                function, or the local call fails (``check`` names the step).
            EngineUnavailableError: there is no modal environment.
        """
        gap = self.engine.unavailable(need_token=False)
        if gap is not None:
            raise EngineUnavailableError(gap.missing, strategy=STRATEGY, how=gap.how)
        folder = self.app_dir if self.app_dir is not None else self.prepare()
        spec = {"file": str(folder / APP_FILE), "inputs": inputs}
        answer = self.engine.script(CHECK_SCRIPT, spec, cwd=folder, env=self._env(),
                                    timeout=self.check_timeout)  # fmt: skip
        if not answer.get("ok"):
            step = str(answer.get("step", "import"))
            raise AdaptationError(f"check {step}: {APP_FILE} ({self.module}:{self.callable}): "
                                  f"{answer.get('error')}", strategy=STRATEGY, check=step,
                                  path=APP_FILE)  # fmt: skip
        output = answer.get("output")
        return output if isinstance(output, dict) else None

    def _env(self) -> dict[str, str]:
        env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", **self.env_vars}
        if self.environment:
            env["MODAL_ENVIRONMENT"] = self.environment
        return env

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Check the app file, then ``modal deploy`` it; idempotent.

        Raises:
            EngineUnavailableError: no modal command, or no Modal token (saying how to log in).
            AdaptationError: the app file's check failed.
            DeploymentError: ``modal deploy`` failed (its output's tail in the message).
        """
        if self._deployed:
            return
        gap = self.engine.unavailable()
        if gap is not None:
            raise EngineUnavailableError(gap.missing, strategy=STRATEGY, how=gap.how)
        folder = self.prepare()
        self.check(self.smoke_inputs)
        command = [str(self.engine.modal()), "deploy", "--name", self.app_name, APP_FILE]
        if self.environment:
            command += ["--env", self.environment]
        code, output = self._modal(command, folder, self.deploy_timeout)
        if code != 0:
            tail = "\n".join(f"  {line}" for line in output.strip().splitlines()[-15:])
            raise DeploymentError(f"`modal deploy` of {self.app_name!r} failed (exit {code}):\n"
                                  f"{tail or '  (no output)'}", strategy=STRATEGY)  # fmt: skip
        self._deployed = True

    def _modal(self, command: list[str], cwd: Path | None, timeout: float) -> tuple[int, str]:
        env = {**os.environ, **self._env()}
        what = " ".join(part for part in command[1:3] if not part.startswith("-"))
        self._append_log(f"$ modal {' '.join(command[1:])}\n")
        try:
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=timeout, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            partial = "".join(_text(part) for part in (exc.stdout, exc.stderr))
            self._append_log(partial + f"(stopped after {timeout:g} s)\n")
            tail = " ".join(partial.split())[-400:] or "no output"
            raise DeploymentError(f"`modal {what}` took over {timeout:g} s (is Modal's server "
                                  f"reachable?): {tail}", strategy=STRATEGY) from exc  # fmt: skip
        output = done.stdout + done.stderr
        self._append_log(output)
        return done.returncode, output

    def _append_log(self, text: str) -> None:
        self._logs = (self._logs + text)[-_LOG_TAIL:]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as log:
                log.write(text)

    def stop(self) -> None:
        """``modal app stop`` the app (when deployed) and remove the copy; idempotent."""
        deployed, self._deployed = self._deployed, False
        try:
            if deployed and self.engine.modal() is not None:
                command = [str(self.engine.modal()), "app", "stop", self.app_name, "--yes"]
                if self.environment:
                    command += ["--env", self.environment]
                self._modal(command, None, 120.0)
        finally:
            if self._own_dir is not None:
                shutil.rmtree(self._own_dir, ignore_errors=True)
                self._own_dir = self.app_dir = None

    # ------------------------------------------------------------------ calls
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Call the deployed function with ``inputs`` (deploying it first if needed).

        Returns:
            The function's envelope; an error envelope when it cannot be deployed or
            reached (never a success for an error).
        """
        if not self._deployed:
            try:
                self.start()
            except DeploymentError as exc:
                return error_envelope(type(exc).__name__, str(exc))
        try:
            answer = self._call(inputs, self.timeout + 60.0)
        except DeploymentError as exc:
            return error_envelope("ModalError", str(exc))
        if not answer.get("ok"):
            error = answer.get("error") or {}
            message = f"calling {self.app_name}.run: {error.get('message', '')}"
            return error_envelope(f"modal.{error.get('type', 'Error')}", message)
        envelope = answer.get("envelope")
        if isinstance(envelope, dict) and envelope.get("status") in ("success", "error"):
            return envelope
        return error_envelope("ModalError", f"unexpected answer from {self.app_name}.run: "
                                            f"{envelope!r}")  # fmt: skip

    def _call(self, inputs: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        spec = {"app": self.app_name, "env": self.environment, "inputs": inputs}
        return self.engine.script(CALL_SCRIPT, spec, env=self._env(), timeout=timeout)

    def is_healthy(self) -> bool:
        """Whether it is deployed and Modal finds its function."""
        if not self._deployed:
            return False
        try:
            return bool(self._call(None, 60.0).get("ok"))
        except DeploymentError:
            return False

    def get_logs(self) -> str:
        """The output of ``modal deploy`` and ``modal app stop`` so far (Modal keeps the
        function's own logs: ``modal app logs <app_name>``)."""
        return self._logs


def _text(part: str | bytes | None) -> str:
    return part.decode("utf-8", "replace") if isinstance(part, bytes) else part or ""


def _app_name(folder: str) -> str:
    """``hoist-<folder>`` as Modal accepts app names (letters, digits, ``-_.``, < 64)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", folder).strip("-.") or "app"
    return f"hoist-{slug}"[:63]
