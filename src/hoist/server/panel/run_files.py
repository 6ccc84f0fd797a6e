"""A run's files for its page: what it was given (``in/``: a service's uploads), what it
delivered (``out/``) and its ``artifacts/``, with their sizes and links to the API's
artifact download (``/api/v1/runs/{id}/artifacts/{path}``, which serves nothing outside
the run's folder).

The listing is the API's own (:func:`hoist.runs.artifacts.list_run_files`): the run
folder's regular files (a symlink that leads out of it is left out) and, once the run
published its artifacts (``HOIST_ARTIFACTS``), those on the storage location, which the
same links download from there when the local copy is gone. Hidden files (an upload
still being written is a dot-file) are not shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote

from hoist.errors import ConfigError, StorageError
from hoist.runs.artifacts import ARTIFACTS, list_run_files
from hoist.settings import Settings

if TYPE_CHECKING:
    from hoist.runs.store import RunStore

__all__ = ["FOLDERS", "MAX_FILES", "RunFile", "RunFiles", "run_files"]

FOLDERS = ("in", "out", ARTIFACTS)
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
        folder: ``in``, ``out`` or ``artifacts``.
        files: the files, sorted by path.
        more: more files exist than :data:`MAX_FILES`.
        problem: why some of them could not be listed (the storage location holding
            the published artifacts failed; never a secret), or ``""``.
    """

    folder: str
    files: list[RunFile]
    more: bool = False
    problem: str = ""


def run_files(
    runs_dir: Path,
    run_id: str,
    limit: int = MAX_FILES,
    *,
    store: RunStore | None = None,
    settings: Settings | None = None,
) -> list[RunFiles]:
    """The files of ``run_id``'s ``in/``, ``out/`` and ``artifacts/`` folders: a group
    for each folder that exists or has files (locally, or published to a storage
    location when ``store`` and ``settings`` are given).

    A location that cannot be read does not fail the page: the local files are listed,
    and the ``artifacts`` group says what failed.

    Args:
        runs_dir: the folder holding every run's folder.
        run_id: the run.
        limit: files listed per folder at most.
        store: the run store (where the run recorded where it published), or ``None``.
        settings: this process's settings (its storage locations), or ``None``.
    """
    problem = ""
    try:
        found = list_run_files(runs_dir, run_id, FOLDERS, store=store, settings=settings)
    except (StorageError, ConfigError) as exc:  # their messages never carry a secret
        found = list_run_files(runs_dir, run_id, FOLDERS)
        problem = f"The published artifacts could not be listed: {exc}"
    base = runs_dir / run_id
    out = []
    for name in FOLDERS:
        shown = [(path[len(name) + 1 :], size) for path, size in found
                 if PurePosixPath(path).parts[0] == name and not _hidden(path)]  # fmt: skip
        note = problem if name == ARTIFACTS else ""
        folder = base / name
        if not (shown or note or (folder.is_dir() and not folder.is_symlink())):
            continue
        prefix = f"/api/v1/runs/{quote(run_id)}/artifacts/{name}/"
        files = [RunFile(path, size, prefix + quote(path)) for path, size in shown[:limit]]
        out.append(RunFiles(name, files, len(shown) > limit, note))
    return out


def _hidden(path: str) -> bool:
    return any(part.startswith(".") for part in PurePosixPath(path).parts)
