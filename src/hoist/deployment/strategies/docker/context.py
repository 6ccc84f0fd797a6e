"""The docker strategy's build context: a copy of the code with this strategy's templates
(``Dockerfile``, ``hoist_server.py``, ``.dockerignore``) rendered into it, and the proof of
the image's CMD with the ``process`` strategy before anything is built.

The CMD is ``python -m uvicorn hoist_server:app --host 0.0.0.0 --port 8000``; the process
strategy serves an ASGI app ``module:attr`` with uvicorn the same way, so
`prove` runs ``hoist_server:app`` through `ProcessRunner` (its own process, a free
loopback port, the deployment's env_vars), checks ``/health`` and, given inputs, one call.
"""

from __future__ import annotations

import json
import shlex
import shutil
import string
from pathlib import Path
from typing import Any

from hoist.errors import AdaptationError, DeploymentError

__all__ = ["CONTAINER_PORT", "build_context", "command_app", "prove"]

STRATEGY = "docker"
CONTAINER_PORT = 8000
_TEMPLATES = Path(__file__).parent / "templates"
_IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".venv", "*.pyc", ".mypy_cache")


def build_context(code_path: str, target: Path, module: str, callable: str) -> list[str]:
    """Copy ``code_path`` to ``target`` and render the templates into it (a file the code
    already has is kept); the files written.

    Raises:
        DeploymentError: no code folder, or ``target`` exists already.
    """
    if not Path(code_path).is_dir():
        raise DeploymentError(f"the docker strategy needs a code folder, got {code_path!r}",
                              strategy=STRATEGY)  # fmt: skip
    if target.exists():
        raise DeploymentError(f"the build context {target} already exists", strategy=STRATEGY)
    shutil.copytree(code_path, target, ignore=_IGNORED)
    values = {"name": Path(code_path).name, "strategy": STRATEGY, "module": module,
              "callable": callable, "target": f"{module}:{callable}"}  # fmt: skip
    quoted = {k: json.dumps(v) for k, v in values.items()}
    written = []
    for template in sorted(_TEMPLATES.glob("*.tmpl"), key=lambda p: p.name):
        out = target / template.name.removesuffix(".tmpl")
        if out.exists():
            continue
        out.write_text(string.Template(template.read_text()).substitute(quoted))
        written.append(out.name)
    return written


def command_app(dockerfile: Path) -> str:
    """The ``module:attr`` the Dockerfile's CMD serves with uvicorn.

    Raises:
        AdaptationError: there is no CMD, or it is not uvicorn serving an app (then the
            process strategy cannot prove it).
    """
    if not dockerfile.is_file():
        raise AdaptationError(f"check command: no Dockerfile in {dockerfile.parent}",
                              strategy=STRATEGY, check="command", path="Dockerfile")  # fmt: skip
    cmd: list[str] | None = None
    for line in dockerfile.read_text().splitlines():
        text = line.strip()
        if text.upper().startswith("CMD "):
            rest = text[4:].strip()
            try:
                parsed = json.loads(rest)
                cmd = [str(x) for x in parsed] if isinstance(parsed, list) else shlex.split(rest)
            except ValueError:
                cmd = shlex.split(rest)
    if cmd and "uvicorn" in cmd:
        after = [a for a in cmd[cmd.index("uvicorn") + 1 :] if not a.startswith("-")]
        if after and ":" in after[0]:
            return after[0]
    raise AdaptationError(f"check command: the Dockerfile's CMD {cmd!r} is not "
                          "`uvicorn module:app ...`, which the process strategy can prove",
                          strategy=STRATEGY, check="command", path="Dockerfile")  # fmt: skip


def prove(
    context: Path,
    env_vars: dict[str, str],
    inputs: dict[str, Any] | None,
    *,
    timeout: float = 60.0,
    log_path: str | None = None,
) -> dict[str, Any] | None:
    """Serve the CMD's app with the ``process`` strategy from ``context`` and call it.

    Returns:
        The envelope of one call with ``inputs`` (None without inputs: ``/health`` only).

    Raises:
        AdaptationError: the CMD cannot be proven, the server does not come up (its
            output in the message), or the call's answer is not an envelope.
    """
    from hoist.deployment.strategies.process import ProcessRunner

    app = command_app(context / "Dockerfile")
    runner = ProcessRunner(code_path=str(context), app=app, env_vars=env_vars,
                           startup_timeout=timeout, log_path=log_path)  # fmt: skip
    try:
        runner.start()
    except DeploymentError as exc:
        raise AdaptationError(f"check command: {app} did not serve: {exc}", strategy=STRATEGY,
                              check="command", path="hoist_server.py") from exc  # fmt: skip
    try:
        if inputs is None:
            return None
        envelope = runner.run(inputs)
        if envelope.get("status") not in ("success", "error"):
            raise AdaptationError(f"check smoke: {app} answered {envelope!r}", strategy=STRATEGY,
                                  check="smoke", path="hoist_server.py")  # fmt: skip
        return envelope
    finally:
        runner.stop()
