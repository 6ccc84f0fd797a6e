"""A run's files for its page: what it was given (``in/``: a service's uploads) and what
it delivered (``out/``), with their sizes and links to the API's artifact download
(``/api/v1/runs/{id}/artifacts/{path}``, which serves nothing outside the run's folder).

Only regular files inside the run's folder are listed: a symlink that leads out of it,
and hidden files (an upload still being written is a dot-file), are left out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

__all__ = ["FOLDERS", "MAX_FILES", "RunFile", "RunFiles", "run_files"]

FOLDERS = ("in", "out")
"""The run folder's subfolders the page lists, in order."""
MAX_FILES = 500
"""Files listed per folder; the page says when there are more."""


@dataclass(frozen=True, slots=True)
class RunFile:
    """One file of a run.

    Attributes:
        path: its path inside its folder (``report.pdf``, ``charts/a.png``).
        size: bytes.
        href: the API URL that downloads it.
    """

    path: str
    size: int
    href: str


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The files of one of a run's folders.

    Attributes:
        folder: ``in`` or ``out``.
        files: the files, sorted by path.
        more: more files exist than :data:`MAX_FILES`.
    """

    folder: str
    files: list[RunFile]
    more: bool = False


def _listed(base: Path, folder: Path, limit: int) -> tuple[list[tuple[str, int]], bool]:
    found: list[tuple[str, int]] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            file = Path(root, name)
            try:
                real = file.resolve()
                if not real.is_relative_to(base) or not real.is_file():
                    continue
                size = real.stat().st_size
            except OSError:  # removed while listed, or unreadable: not shown
                continue
            if len(found) == limit:
                return found, True
            found.append((file.relative_to(folder).as_posix(), size))
    return found, False


def run_files(runs_dir: Path, run_id: str, limit: int = MAX_FILES) -> list[RunFiles]:
    """The files of ``run_id``'s ``in/`` and ``out/`` folders (only those that exist).

    Args:
        runs_dir: the folder holding every run's folder.
        run_id: the run.
        limit: files listed per folder at most.
    """
    base = (runs_dir / run_id).resolve()
    out = []
    for name in FOLDERS:
        folder = base / name
        if folder.is_symlink() or not folder.is_dir():
            continue
        found, more = _listed(base, folder, limit)
        prefix = f"/api/v1/runs/{quote(run_id)}/artifacts/{name}/"
        files = [RunFile(path, size, prefix + quote(path)) for path, size in sorted(found)]
        out.append(RunFiles(name, files, more))
    return out
