"""Where a run's files are: its local folder (``<runs_dir>/<run_id>/``), and, once the run
ended with ``HOIST_ARTIFACTS`` set, a storage location holding a copy of its
``artifacts/`` folder at ``<location>/<run_id>/artifacts/<path>``.

The run store keeps only the reference: a custom event named :data:`PUBLISHED_EVENT`
(``{"location": name, "url": the run's folder there, "files": n, "bytes": n}``), emitted
just before the run's terminal status, so a server on another machine finds the files.
An upload that fails never loses the run: a warning log event names the location (never
a credential) and the local copy stays.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Protocol

from hoist.errors import ConfigError, StorageError
from hoist.runs.models import CustomEvent
from hoist.settings import Settings

if TYPE_CHECKING:  # the storage layer (and fsspec) loads only when a run uses it
    from hoist.runs.store import RunStore
    from hoist.storage import Progress, StorageLocation

__all__ = [
    "ARTIFACTS",
    "PUBLISHED_EVENT",
    "ArtifactStore",
    "PublishingContext",
    "find_published",
    "list_run_files",
    "publish_run_artifacts",
    "published_store",
]

ARTIFACTS = "artifacts"
"""The run folder's sub-folder that is published."""
PUBLISHED_EVENT = "hoist.artifacts.published"
"""Name of the custom event recording where a run's artifacts were published."""
MANIFEST = "manifest.json"
"""``<run_id>/manifest.json`` on the location: each published file's size and sha256."""

CHUNK = 8 * 1024 * 1024
"""Bytes per read when streaming or hashing a file."""

_log = logging.getLogger(__name__)


class ArtifactStore:
    """A run's files, read and written in one of two places.

    Local (``location`` is ``None``): ``<runs_dir>/<run_id>/``, every file of the run
    folder (today's behaviour). On a location: ``<location>/<run_id>/artifacts/...``.
    Paths are relative to the run folder (``artifacts/model.pt``), ``/``-separated;
    one that leaves the run's folder is refused.

    Args:
        runs_dir: the folder holding every run's local folder.
        location: the storage location holding published runs, or ``None``.
    """

    def __init__(self, runs_dir: Path, location: StorageLocation | None = None) -> None:
        self.runs_dir = Path(runs_dir)
        self.location = location

    def __repr__(self) -> str:
        where = self.location.url if self.location is not None else str(self.runs_dir)
        return f"ArtifactStore({where!r})"

    def list(self, run_id: str, under: str | None = None) -> list[tuple[str, int]]:
        """``(path, size)`` of the run's files, sorted by path.

        Args:
            run_id: the run.
            under: only the files below this sub-folder of the run's folder
                (``artifacts``, ``out``); on a location, only ``artifacts`` has files.

        Raises:
            ValueError: ``under`` leaves the run's folder.
            StorageError: the location cannot be listed (names it, never a secret).
        """
        below = None if under is None else safe_path(under)
        if self.location is None:
            base = (self.runs_dir / run_id).resolve()
            folder = base if below is None else base / below
            if folder.is_symlink() or not folder.is_dir():  # a folder leading out: nothing
                return []
            prefix = "" if below is None else f"{below}/"
            return [(prefix + rel, size) for rel, size in _sized(_regular_files(folder, base))]
        below = below or ARTIFACTS
        if PurePosixPath(below).parts[0] != ARTIFACTS:
            return []
        there = self.location.child(run_id)
        entries = there.list(below, recursive=True) if there.exists(below) else []
        return sorted((e.path, e.size or 0) for e in entries if not e.is_dir)

    def open(self, run_id: str, path: str) -> IO[bytes]:
        """Open one of the run's files for reading.

        Raises:
            ValueError: ``path`` leaves the run's folder (or, on a location, its
                ``artifacts/``).
            FileNotFoundError: no such local file.
            StorageError: not found on the location, or it cannot be read.
        """
        rel = safe_path(path)
        if self.location is None:
            base = (self.runs_dir / run_id).resolve()
            target = (base / rel).resolve()
            if not target.is_relative_to(base):
                raise ValueError("artifact paths must stay inside the run folder")
            return target.open("rb")
        if PurePosixPath(rel).parts[0] != ARTIFACTS:
            raise FileNotFoundError(rel)
        return self.location.child(run_id).open(rel, "rb")

    def stream(self, run_id: str, path: str) -> Iterable[bytes]:
        """The file's bytes in chunks (the file is closed at the end)."""
        with self.open(run_id, path) as source:
            while chunk := source.read(CHUNK):
                yield chunk

    def publish(
        self, run_id: str, local_folder: Path, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Upload a finished run's ``artifacts`` folder to ``<location>/<run_id>/artifacts``.

        Files already there with the same size and sha256 (per the location's manifest)
        are not sent again; links that lead out of the run folder are left out.

        Returns:
            the reference for the run store: location name, the run folder's URL there,
            files and bytes published.

        Raises:
            StorageError: the upload failed (names the location, never a secret).
        """
        if self.location is None:
            raise ValueError("a local artifact store has nothing to publish to")
        folder = self.location.child(run_id)
        files = _regular_files(Path(local_folder).resolve(), Path(local_folder).parent.resolve())
        manifest: dict[str, dict[str, Any]] = {
            rel: {"size": path.stat().st_size, "sha256": _sha256(path)} for rel, path in files
        }
        known = _read_manifest(folder)
        there = {entry.path: entry.size for entry in _listed(folder)}

        def unchanged(rel: str) -> bool:
            size = manifest[rel]["size"]
            return known.get(rel) == manifest[rel] and there.get(f"{ARTIFACTS}/{rel}") == size

        sending = [(rel, path) for rel, path in files if not unchanged(rel)]
        local = Path(local_folder)
        if sending and len(sending) == sum(1 for p in local.rglob("*") if p.is_file()):
            folder.upload(local, ARTIFACTS, progress=progress)  # one batch (concurrent on S3)
        else:
            _upload_each(folder, sending, progress)
        folder.write_bytes(MANIFEST, json.dumps({"files": manifest}, sort_keys=True).encode())
        return {
            "location": self.location.name,
            "url": self.location.url_of(run_id),
            "files": len(files),
            "bytes": sum(m["size"] for m in manifest.values()),
            "sent": len(sending),
        }


def _upload_each(
    folder: StorageLocation, files: list[tuple[str, Path]], progress: Progress | None
) -> None:
    """Upload some of a run's artifacts one by one, reporting progress over all of them."""
    total = sum(path.stat().st_size for _, path in files)
    done = 0
    for rel, path in files:

        def report(count: int, _total: int | None, base: int = done) -> None:
            if progress is not None:
                progress(base + count, total)

        folder.upload(path, f"{ARTIFACTS}/{rel}", progress=report)
        done += path.stat().st_size


def safe_path(path: str) -> str:
    """``path`` checked to stay inside a run's folder (no absolute path, ``..``, ``.``,
    backslash or NUL).

    Raises:
        ValueError: it would leave the folder.
    """
    parts = PurePosixPath(path).parts
    if (
        not path
        or "\x00" in path
        or "\\" in path
        or path.startswith("/")
        or any(part in ("..", ".") for part in parts)
    ):
        raise ValueError("artifact paths must stay inside the run folder")
    return "/".join(parts)


class PublishingContext(Protocol):
    """What :func:`publish_run_artifacts` needs of a run's context."""

    run_id: str
    runs_dir: Path | None

    def log(self, event: str, data: Any = None) -> None: ...
    def emit_log(self, message: str, level: str = "INFO", logger: str | None = None) -> None: ...
    def set_progress(self, current: float, total: float, category: str | None = None) -> None: ...


def publish_run_artifacts(ctx: PublishingContext, settings: Settings) -> None:
    """At a run's end: publish its ``artifacts/`` to ``settings.artifacts`` (when set and
    the folder exists), recording :data:`PUBLISHED_EVENT`; a failure becomes a warning
    log event naming the location, and the local files stay. Never raises."""
    if not settings.artifacts or ctx.runs_dir is None:
        return
    local = ctx.runs_dir / ctx.run_id / ARTIFACTS
    if not local.is_dir():
        return
    from hoist.storage import load_storage_config, open_location
    from hoist.storage.secrets import redact_url

    try:
        location = open_location(settings.artifacts, config=load_storage_config(settings=settings))

        def progress(done: int, total: int | None) -> None:
            ctx.set_progress(done, total or done, "artifacts upload")

        reference = ArtifactStore(ctx.runs_dir, location).publish(ctx.run_id, local, progress)
    except Exception as exc:  # whatever failed (a provider's own error too): keep the run
        if isinstance(exc, StorageError | ConfigError):
            why = str(exc)  # names the location, path and problem, never a secret
        else:
            _log.debug("publishing artifacts failed", exc_info=True)
            why = f"storage '{redact_url(settings.artifacts)}': {type(exc).__name__}"
        ctx.emit_log(
            f"artifacts not published ({why}); they stay in the run's local folder",
            "WARNING",
            logger=__name__,
        )
        return
    ctx.log(PUBLISHED_EVENT, reference)


def published_store(
    run_id: str, events: Iterable[Any], runs_dir: Path, settings: Settings
) -> ArtifactStore | None:
    """The store holding ``run_id``'s published artifacts, from its newest
    :data:`PUBLISHED_EVENT` among ``events`` (custom events, any order), or ``None``.

    A reference is followed only to where this process may read with its own settings:
    below its ``HOIST_ARTIFACTS`` location or a location of its storage config, and only
    to the run's own folder (``.../<run_id>``).
    """
    found = [e for e in events if isinstance(e, CustomEvent) and e.name == PUBLISHED_EVENT]
    if not found:
        return None
    url = str(max(found, key=lambda e: e.seq).data.get("url", "")).rstrip("/")
    if not url.endswith(f"/{run_id}"):
        return None
    root = url[: -len(run_id) - 1]
    from hoist.storage import load_storage_config, open_location

    config = load_storage_config(settings=settings)
    if settings.artifacts:
        own = open_location(settings.artifacts, config=config)
        if own.url.rstrip("/") == root:
            return ArtifactStore(runs_dir, own)
    if config.covering(root) is None:
        return None
    return ArtifactStore(runs_dir, open_location(root, config=config))


def find_published(
    store: RunStore, run_id: str, runs_dir: Path, settings: Settings
) -> ArtifactStore | None:
    """:func:`published_store` of ``run_id``, from its newest custom events in ``store``
    (the reference is recorded right before the run's terminal status).

    Raises:
        StorageError: the location it names cannot be opened.
        ConfigError: the storage config is broken, or a credential is not set.
    """
    events = store.events_of_type(run_id, ("custom",), 50, newest_first=True)
    return published_store(run_id, events, runs_dir, settings)


def list_run_files(
    runs_dir: Path,
    run_id: str,
    folders: Iterable[str] | None = None,
    *,
    store: RunStore | None = None,
    settings: Settings | None = None,
) -> list[tuple[str, int]]:
    """``(path, size)`` of a run's files, sorted by path: the one listing behind the API's
    ``GET /runs/{id}/artifacts`` and the run page's files.

    The files of the run's local folder (only those below ``folders``, when given), and,
    when ``store`` and ``settings`` are given and the run published its artifacts to a
    location this process may read (:func:`find_published`), those of its ``artifacts/``
    there. A file in both places is listed once, as the local copy.

    Raises:
        StorageError: the location cannot be opened or listed (names it, never a secret).
        ConfigError: the storage config is broken, or a credential is not set.
    """
    local = ArtifactStore(runs_dir)
    names = None if folders is None else tuple(folders)
    if names is None:
        files = dict(local.list(run_id))
    else:
        files = {path: size for name in names for path, size in local.list(run_id, name)}
    if store is not None and settings is not None and (names is None or ARTIFACTS in names):
        remote = find_published(store, run_id, runs_dir, settings)
        if remote is not None:
            files = {**dict(remote.list(run_id)), **files}  # the local copy wins
    return sorted(files.items())


def _sized(files: list[tuple[str, Path]]) -> list[tuple[str, int]]:
    """``(path, size)`` of each file still there (one removed or renamed meanwhile, such
    as an upload's ``.part`` file, is left out)."""
    found = []
    for rel, path in files:
        try:
            found.append((rel, path.stat().st_size))
        except OSError:
            continue
    return found


def _regular_files(folder: Path, base: Path) -> list[tuple[str, Path]]:
    """``(path relative to folder, file)`` of every regular file below ``folder`` that
    really lies inside ``base`` (a link leading out is left out), sorted."""
    if not folder.is_dir():
        return []
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in names:
            file = Path(root, name)
            try:
                real = file.resolve()
                if real.is_relative_to(base) and real.is_file():
                    found.append((file.relative_to(folder).as_posix(), file))
            except OSError:
                continue
    return sorted(found)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(folder: StorageLocation) -> dict[str, Any]:
    try:
        files = json.loads(folder.read_bytes(MANIFEST)).get("files", {})
    except (StorageError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _listed(folder: StorageLocation) -> list[Any]:
    try:
        return folder.list(ARTIFACTS, recursive=True)
    except StorageError as exc:
        if exc.problem != "not found":
            raise
        return []
