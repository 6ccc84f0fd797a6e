"""The LangGraph project the ``langgraph`` strategy serves: a copy of the code with a
generated ``langgraph.json`` and graph module, and what the ``langgraph`` command needs.

Nothing here imports LangGraph: the generated files run in the engine's environment (the
``langgraph dev`` subprocess).
"""

from __future__ import annotations

import json
import shutil
import string
import subprocess
from pathlib import Path
from typing import Any

from hoist.deployment.engines import command_python, find_command
from hoist.errors import DeploymentError

__all__ = [
    "ENTRY_MODULE",
    "HOW_TO_INSTALL",
    "engine_missing",
    "write_project",
]

STRATEGY = "langgraph"
ENTRY_MODULE = "hoist_langgraph_graph"
HOW_TO_INSTALL = (
    'install it with `pip install "langgraph-cli[inmem]" langgraph` in an environment of '
    "its own (`make engines` builds .engines/langgraph) and put its bin folder on PATH, "
    "or set the strategy setting `command` to its path (or `url` to an existing LangGraph "
    "server)"
)
_TEMPLATE = Path(__file__).parent / "templates" / f"{ENTRY_MODULE}.py.tmpl"
_IGNORE = shutil.ignore_patterns(".git", "__pycache__", ".langgraph_api", ".venv", "*.pyc")
# What the dev server needs besides the command: the in-memory API server and LangGraph.
_PROBE = (
    "import importlib.util, sys; "
    "missing = [m for m in ('langgraph_api', 'langgraph') if importlib.util.find_spec(m) is None]; "
    "sys.stdout.write(' '.join(missing))"
)


def engine_missing(command: str) -> str | None:
    """What the ``langgraph dev`` server needs that is not here (None: nothing).

    The command must exist, and its interpreter (its ``#!`` line) must find
    ``langgraph_api`` (the ``inmem`` extra) and ``langgraph``.
    """
    path = find_command(command)
    if path is None:
        return f"the `{command}` command (langgraph-cli)"
    python = command_python(path)
    if python is None:
        return None  # not a Python script: the server's own output tells what it misses
    try:
        probe = subprocess.run(
            [python, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    missing = probe.stdout.strip().split()
    if probe.returncode != 0 or not missing:
        return None
    names = {"langgraph_api": "langgraph-cli[inmem] (langgraph-api)", "langgraph": "langgraph"}
    return f"the package {' and '.join(names[m] for m in missing)} next to `{path}`"


def write_project(
    code_path: Path, target: Path, *, module: str, attr: str, graph_id: str, name: str
) -> dict[str, str]:
    """Copy ``code_path`` to ``target`` and write the graph module and ``langgraph.json``.

    A ``langgraph.json`` the code already has keeps its keys (``dependencies``, ``store``,
    ...), except that ``graphs`` is ours and an ``env`` mapping is returned (to be set in
    the server's process under ``env_vars``) instead of written.

    Returns:
        The code's own ``langgraph.json`` ``env`` mapping (``{}`` when none).

    Raises:
        DeploymentError: the code folder cannot be copied, or its ``langgraph.json`` is not
            a JSON object.
    """
    try:
        shutil.copytree(code_path, target, ignore=_IGNORE, symlinks=True)
    except OSError as exc:
        raise DeploymentError(
            f"cannot copy the code folder {str(code_path)!r}: {exc}", strategy=STRATEGY
        ) from exc
    config = _existing_config(target / "langgraph.json")
    env = config.pop("env", None)
    env_vars: dict[str, str] = {}
    if isinstance(env, dict):
        env_vars = {str(k): str(v) for k, v in env.items()}
    elif isinstance(env, str):
        config["env"] = env  # a .env file: the server reads it
    config.setdefault("dependencies", ["."])
    config["graphs"] = {graph_id: f"./{ENTRY_MODULE}.py:graph"}
    values = {"name": name, "strategy": STRATEGY, "target": f"{module}:{attr}",
              "module": module, "callable": attr}  # fmt: skip
    quoted = {k: json.dumps(v) for k, v in values.items()}
    entry = string.Template(_TEMPLATE.read_text()).substitute(quoted)
    (target / f"{ENTRY_MODULE}.py").write_text(entry)
    (target / "langgraph.json").write_text(json.dumps(config, indent=2) + "\n")
    return env_vars


def _existing_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DeploymentError(
            f"the code's langgraph.json is not valid JSON: {exc}", strategy=STRATEGY
        ) from exc
    if not isinstance(config, dict):
        raise DeploymentError(
            f"the code's langgraph.json must be a JSON object, got {type(config).__name__}",
            strategy=STRATEGY,
        )
    return config
