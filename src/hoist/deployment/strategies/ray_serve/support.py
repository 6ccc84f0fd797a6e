"""Helpers of the ``ray_serve`` runner: names, resources, Serve's failure messages and
HTTP answers read as envelopes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from hoist.errors import DeploymentError, MissingExtraError

__all__ = [
    "STRATEGY",
    "actor_options",
    "app_name_for",
    "httpx_module",
    "number",
    "settings_env",
]

STRATEGY = "ray_serve"


def app_name_for(name: str | None, code_path: str) -> str:
    """``hoist-<name>``; without a name, from the folder (``<parent>-v<N>`` for a
    snapshot folder named by its version) plus a hash of its path."""
    if name:
        return f"hoist-{name}"
    folder = Path(code_path)
    base = f"{folder.parent.name}-v{folder.name}" if folder.name.isdigit() else folder.name
    digest = hashlib.sha1(code_path.encode()).hexdigest()[:6]
    return f"hoist-{base or 'code'}-{digest}"


def number(value: Any, key: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DeploymentError(
            f"resources.{key} must be a number for ray-serve, got {value!r}", strategy=STRATEGY
        ) from None


def settings_env(kind: str) -> dict[str, str]:
    """Hoist's settings variables of this process, for replicas that record runs."""
    if kind != "action":
        return {}
    import os

    from hoist.settings import variable_of

    prefix = variable_of("home").removesuffix("HOME")
    return {k: v for k, v in os.environ.items() if k.startswith(prefix)}


def httpx_module() -> Any:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the server extra is missing
        raise MissingExtraError("server", "httpx") from None
    return httpx


def actor_options(
    resources: dict[str, Any], env: dict[str, str], working_dir: str, given: dict[str, Any]
) -> dict[str, Any]:
    """Replicas' ``ray_actor_options``: ``resources`` ``cpu``/``gpu`` as ``num_cpus``/
    ``num_gpus``, a ``runtime_env`` of ``working_dir`` and ``env``, then ``given`` over
    them (its ``runtime_env`` merged, its ``env_vars`` over ``env``).

    Raises:
        DeploymentError: ``cpu`` or ``gpu`` is not a number.
    """
    options: dict[str, Any] = {}
    cpu = number(resources.get("cpu"), "cpu")
    if cpu is not None:
        options["num_cpus"] = cpu
    gpu = resources.get("gpu")
    gpus = (1.0 if gpu else 0.0) if isinstance(gpu, bool) else number(gpu, "gpu")
    if gpus:
        options["num_gpus"] = gpus
    runtime_env: dict[str, Any] = {"working_dir": working_dir, "env_vars": dict(env)}
    extra = dict(given)
    extra_env = extra.pop("runtime_env", None) or {}
    runtime_env.update({k: v for k, v in extra_env.items() if k != "env_vars"})
    runtime_env["env_vars"].update(extra_env.get("env_vars") or {})
    options.update(extra)
    options["runtime_env"] = runtime_env
    return options
