"""The ``langgraph dev`` process: its port, environment, process group and output."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

from hoist.errors import DeploymentError

__all__ = [
    "dev_command",
    "end_group",
    "exit_message",
    "free_port",
    "read_tail",
    "server_env",
    "spawn_server",
]

STRATEGY = "langgraph"
_LOG_TAIL = 64 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Hoist's own interpreter settings must not leak into the engine's environment.
_NOT_INHERITED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")


def dev_command(command: str, host: str, port: int) -> list[str]:
    """``langgraph dev`` on ``host:port``: in-memory, no reload, no browser, the
    ``langgraph.json`` of its working directory."""
    return [command, "dev", "--host", host, "--port", str(port), "--no-browser",
            "--no-reload", "--config", "langgraph.json"]  # fmt: skip


def server_env(code_env: dict[str, str], env_vars: dict[str, str]) -> dict[str, str]:
    """The server's environment: this process's (without Hoist's interpreter settings),
    then the code's ``langgraph.json`` ``env``, then ``env_vars`` (which win)."""
    inherited = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    quiet = {"PYTHONUNBUFFERED": "1", "LANGGRAPH_NO_VERSION_CHECK": "true", "NO_COLOR": "1"}
    return {**inherited, **quiet, **code_env, **env_vars}


def free_port(host: str, port: int, target: str) -> int:
    """``port`` when it is free on ``host`` (0: any free port).

    Raises:
        DeploymentError: the port is taken (or ``host`` cannot be listened on).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise DeploymentError(
                    f"port {port} on {host} is already in use: cannot serve {target!r} "
                    "there (choose another port, or none for a free one)",
                    strategy=STRATEGY,
                ) from exc
            raise DeploymentError(
                f"cannot listen on {host}:{port}: {exc.strerror}", strategy=STRATEGY
            ) from exc
        return int(sock.getsockname()[1])


def end_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process's group, SIGKILL it when the leader is still there after
    ``grace`` seconds; then SIGKILL whatever of the group is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_tail(path: Path) -> str:
    """The last 64 KiB of the server's output, colours removed (``""`` when unreadable)."""
    try:
        with path.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - _LOG_TAIL))
            return _ANSI.sub("", log.read().decode("utf-8", "replace"))
    except OSError:
        return ""


def spawn_server(
    argv: list[str], cwd: Path, env: dict[str, str], log_file: Path
) -> subprocess.Popen[bytes]:
    """Start the server ``argv`` in ``cwd`` in a process group of its own, its output
    appended to ``log_file``.

    Raises:
        DeploymentError: the command cannot be started.
    """
    try:
        with log_file.open("ab") as log:
            return subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
    except OSError as exc:
        raise DeploymentError(f"cannot start {argv[0]!r} dev: {exc}", strategy=STRATEGY) from exc


def exit_message(target: str, code: int | None, logs: str) -> str:
    """What to say of a server that exited with ``code`` before it was ready: its
    output's last 20 lines."""
    lines = [line for line in logs.splitlines() if line.strip()][-20:]
    output = "\n".join(f"  {line}" for line in lines) or "  (no output)"
    return (
        f"the LangGraph server (langgraph dev) for {target!r} exited with code "
        f"{code} before it was ready; its output ends:\n{output}"
    )
