"""Engines that run outside Hoist's interpreter (``bentoml``, ``langgraph``, ``modal``):
finding their command and the Python of the environment it belongs to.

An engine lives in an environment of its own (``make engines`` builds them under
``.engines``); a strategy names its command by a setting (a path, or a name looked up on
``PATH``), and the Python that imports the engine is the one that command runs with.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["command_python", "find_command"]


def find_command(command: str) -> str | None:
    """``command``'s path: itself when it is a path to a file, else its place on ``PATH``;
    None when there is none."""
    if "/" in command:
        return command if Path(command).is_file() else None
    return shutil.which(command)


def command_python(command: str) -> str | None:
    """The Python of the environment ``command`` belongs to: ``python`` beside it, else
    the interpreter of its ``#!`` line; None when the command or its Python is missing."""
    path = find_command(command)
    if path is None:
        return None
    beside = Path(path).parent / "python"
    if beside.is_file():
        return str(beside)
    try:
        with Path(path).open("rb") as file:
            first = file.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    parts = first[2:].split() if first.startswith("#!") else []
    if not parts:
        return None
    if Path(parts[0]).name == "env" and len(parts) > 1:
        return shutil.which(parts[1])
    return parts[0] if Path(parts[0]).is_file() else None
