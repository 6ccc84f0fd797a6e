"""The Modal engine seen from Hoist: its ``modal`` command and the Python of its
environment (never imported into Hoist's own process), Modal's own answer on whether a
token is configured, and the small scripts run in that Python.

Credentials are resolved by Modal itself (``modal.config``), so every way Modal accepts
counts: ``MODAL_TOKEN_ID`` + ``MODAL_TOKEN_SECRET``, ``~/.modal.toml`` (its active profile,
``MODAL_PROFILE``, ``MODAL_CONFIG_PATH``) and OAuth variables.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hoist.deployment.engines import command_python, find_command
from hoist.errors import DeploymentError

__all__ = ["LOGIN_HOW", "ModalEngine", "Unavailable"]

STRATEGY = "modal"
LOGIN_HOW = (
    "log in with `modal token new` (opens a browser) or `modal token set --token-id ID "
    "--token-secret SECRET` (writes ~/.modal.toml), or set MODAL_TOKEN_ID and "
    "MODAL_TOKEN_SECRET in the environment (MODAL_PROFILE picks a profile of ~/.modal.toml)"
)
INSTALL_HOW = (
    "install it with `make engines` (.engines/modal, modal==1.6.4) and put its bin folder "
    "on PATH, or set the strategy setting `command` to the modal executable"
)

# Modal's own resolution of the credentials (env, the active profile of .modal.toml, OAuth).
_TOKEN_PROBE = """
import json
try:
    from modal import config as c
    c._check_config()
    get = c.config.get
    token = bool(get("token_id") and get("token_secret"))
    oauth = bool(get("oauth_refresh_token") and get("oauth_client_id")
                 and (get("oauth_client_secret") or get("oauth_jwt_key")))
    answer = {"ok": token or oauth, "profile": c._profile, "path": c.user_config_path}
except Exception as exc:
    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(answer))
"""

# Import the generated app file; check it is a Modal app; run the function locally.
CHECK_SCRIPT = """
import importlib.util, json, sys
spec = json.loads(sys.stdin.read())
step = "import"
try:
    import modal
    loader = importlib.util.spec_from_file_location("hoist_modal_app", spec["file"])
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    step = "modal_app"
    if not isinstance(getattr(module, "app", None), modal.App):
        raise TypeError("it has no modal.App named `app`")
    function = getattr(module, "run", None)
    if not isinstance(function, modal.Function):
        raise TypeError("it has no Modal function named `run`")
    step = "smoke"
    output = None if spec["inputs"] is None else function.local(spec["inputs"])
    answer = {"ok": True, "app": module.app.name, "output": output}
except BaseException as exc:
    answer = {"ok": False, "step": step, "error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(answer))
"""

# Call (or only look up) the deployed function.
CALL_SCRIPT = """
import json, sys
spec = json.loads(sys.stdin.read())
try:
    import modal
    function = modal.Function.from_name(spec["app"], "run", environment_name=spec["env"])
    if spec["inputs"] is None:
        function.hydrate()
        answer = {"ok": True}
    else:
        answer = {"ok": True, "envelope": function.remote(spec["inputs"])}
except BaseException as exc:
    answer = {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}}
print(json.dumps(answer))
"""


@dataclass(frozen=True)
class Unavailable:
    """What is missing for the modal strategy, and how to provide it."""

    missing: str
    how: str


@dataclass(frozen=True)
class ModalEngine:
    """The ``modal`` executable and the Python of its environment.

    Args:
        command: the ``modal`` executable (found on PATH by default).
        python: the environment's Python (default: ``python`` next to ``command``).
    """

    command: str | None = None
    python: str | None = None

    def modal(self) -> str | None:
        """The path of the ``modal`` command, or None when there is none."""
        return find_command(self.command or "modal")

    def interpreter(self) -> str | None:
        """The Python that imports ``modal``, or None when there is none."""
        if self.python:
            return find_command(self.python)
        return command_python(self.command or "modal")

    def unavailable(self, *, need_token: bool = True) -> Unavailable | None:
        """What is missing (the command, the package, a token), or None."""
        if self.modal() is None or self.interpreter() is None:
            what = self.command or "modal"
            return Unavailable(f"the modal command ({what!r} is not on PATH)", INSTALL_HOW)
        if not need_token:
            return None
        try:
            answer = self.script(_TOKEN_PROBE, None, timeout=60)
        except DeploymentError as exc:
            return Unavailable(f"a working modal package ({exc})", INSTALL_HOW)
        if answer.get("ok"):
            return None
        if "error" in answer:
            return Unavailable(f"a valid Modal configuration ({answer['error']})", LOGIN_HOW)
        where = f"profile {answer.get('profile')!r} of {answer.get('path')}"
        return Unavailable(f"a Modal token (none in the environment nor in {where})", LOGIN_HOW)

    def script(
        self,
        code: str,
        spec: Any,
        *,
        cwd: str | Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120.0,
    ) -> dict[str, Any]:
        """Run ``code`` in the engine's Python with ``spec`` as JSON on stdin; its last
        stdout line, a JSON object.

        Raises:
            DeploymentError: no Python, a timeout, or no JSON answer (with stderr's tail).
        """
        python = self.interpreter()
        if python is None:
            raise DeploymentError(f"no Python of the modal environment: {INSTALL_HOW}",
                                  strategy=STRATEGY)  # fmt: skip
        try:
            done = subprocess.run([python, "-c", code], input=json.dumps(spec), cwd=cwd,
                                  env={**os.environ, **(env or {})}, capture_output=True,
                                  text=True, timeout=timeout, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise DeploymentError(f"the modal environment's Python took over {timeout:g} s",
                                  strategy=STRATEGY) from exc  # fmt: skip
        lines = done.stdout.strip().splitlines()
        try:
            answer = json.loads(lines[-1])
        except (IndexError, ValueError):
            tail = done.stderr.strip()[-800:] or "(no output)"
            message = f"the modal environment's Python exited {done.returncode} without an answer"
            raise DeploymentError(f"{message}: {tail}", strategy=STRATEGY) from None
        if not isinstance(answer, dict):
            raise DeploymentError(f"unexpected answer {answer!r}", strategy=STRATEGY)
        return answer
