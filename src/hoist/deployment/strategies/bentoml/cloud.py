"""BentoCloud for the ``bentoml`` strategy (``settings.target: cloud``): where the
credentials are, and ``bentoml deploy`` / ``deployment get`` / ``deployment terminate``
run as commands of the engine's environment (Hoist never imports ``bentoml``).

Credentials are what BentoML itself accepts: ``BENTO_CLOUD_API_KEY`` (with
``BENTO_CLOUD_API_ENDPOINT``, default ``https://cloud.bentoml.com``) in the environment, or
the current context ``bentoml cloud login`` saved in ``$BENTOML_HOME/.yatai.yaml``
(``~/bentoml`` by default). Without them, an `EngineUnavailableError` says how to log in.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hoist._yaml_lines import plain, read_yaml
from hoist.errors import ConfigError, DeploymentError, EngineUnavailableError

__all__ = [
    "LOGIN_HOW",
    "cloud_credentials",
    "cloud_deploy",
    "cloud_endpoint",
    "cloud_terminate",
    "require_credentials",
]

STRATEGY = "bentoml"
LOGIN_HOW = (
    "run `bentoml cloud login --api-token TOKEN --endpoint URL` with the engine's bentoml "
    "(.engines/bentoml/bin/bentoml), or set BENTO_CLOUD_API_KEY (and BENTO_CLOUD_API_ENDPOINT) "
    "in the environment; or deploy locally (settings.target: local)"
)


def _login_file(env: Mapping[str, str]) -> Path:
    home = env.get("BENTOML_HOME") or str(Path.home() / "bentoml")
    return Path(home) / ".yatai.yaml"


def cloud_credentials(env: Mapping[str, str] | None = None) -> str | None:
    """Where BentoCloud credentials come from here (a phrase naming it), None without any."""
    env = os.environ if env is None else env
    if env.get("BENTO_CLOUD_API_KEY"):
        return "the BENTO_CLOUD_API_KEY environment variable"
    path = _login_file(env)
    try:
        config = plain(read_yaml(path.read_text(), str(path))) or {}
    except (OSError, ConfigError):
        return None
    if not isinstance(config, dict):
        return None
    current = config.get("current_context_name", "default")
    for context in config.get("contexts") or []:
        named = isinstance(context, dict) and context.get("name") == current
        if named and context.get("api_token"):
            return f"the `bentoml cloud login` context {current!r} in {path}"
    return None


def require_credentials(env: Mapping[str, str] | None = None) -> str:
    """`cloud_credentials`, or raise.

    Raises:
        EngineUnavailableError: no BentoCloud credentials (saying how to log in).
    """
    found = cloud_credentials(env)
    if found is None:
        raise EngineUnavailableError("BentoCloud credentials", strategy=STRATEGY, how=LOGIN_HOW)
    return found


def _bentoml(
    command: str, args: list[str], *, cwd: Path | None, timeout: float, log: Any
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "True"}
    try:
        done = subprocess.run(
            [command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise DeploymentError(
            f"`bentoml {' '.join(args[:2])}` did not finish within {timeout:g} s",
            strategy=STRATEGY,
        ) from exc
    if log is not None:
        log.write(f"$ bentoml {' '.join(args)}\n{done.stdout}{done.stderr}")
        log.flush()
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise DeploymentError(
            f"`bentoml {' '.join(args[:2])}` failed (exit {done.returncode}):\n{tail}",
            strategy=STRATEGY,
        )
    return done


def cloud_deploy(
    command: str,
    folder: Path,
    name: str,
    env_vars: Mapping[str, str],
    *,
    timeout: float,
    log: Any = None,
) -> str:
    """``bentoml deploy folder -n name --env K=V ... --wait``; the deployment's endpoint.

    Raises:
        EngineUnavailableError: no credentials.
        DeploymentError: the deploy failed (its output's tail), or no endpoint URL.
    """
    require_credentials()
    args = ["deploy", str(folder), "-n", name, "--wait", "--timeout", str(int(timeout))]
    for key, value in env_vars.items():
        args += ["--env", f"{key}={value}"]
    _bentoml(command, args, cwd=folder, timeout=timeout + 600, log=log)
    return cloud_endpoint(command, name, log=log)


def cloud_endpoint(command: str, name: str, *, log: Any = None) -> str:
    """The first endpoint URL of the BentoCloud deployment ``name``.

    Raises:
        DeploymentError: it has none (or the answer is not JSON).
    """
    done = _bentoml(command, ["deployment", "get", name, "-o", "json"], cwd=None,
                    timeout=120, log=log)  # fmt: skip
    try:
        info = json.loads(done.stdout)
    except ValueError as exc:
        raise DeploymentError(f"`bentoml deployment get {name}` did not answer JSON",
                              strategy=STRATEGY) from exc  # fmt: skip
    urls = info.get("endpoint_urls") if isinstance(info, dict) else None
    if not urls:
        raise DeploymentError(f"BentoCloud deployment {name!r} has no endpoint URL",
                              strategy=STRATEGY)  # fmt: skip
    url = str(urls[0])
    return url if "://" in url else f"https://{url}"


def cloud_terminate(command: str, name: str, *, log: Any = None) -> None:
    """``bentoml deployment terminate name`` (errors are raised as `DeploymentError`)."""
    _bentoml(command, ["deployment", "terminate", name], cwd=None, timeout=300, log=log)
