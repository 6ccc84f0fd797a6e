"""What a run reaches beyond its own events: its folder (``ctx.artifacts_dir``), the
settings it follows, named storage locations (``ctx.storage``) and downloads into its
cache (``ctx.download``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hoist.settings import Settings
    from hoist.storage import StorageConfig, StorageLocation

__all__ = ["RunResources"]


class RunResources:
    """The part of :class:`~hoist.plugins.context.RuntimeContext` that reaches files,
    storage and downloads (its constructor sets the attributes below; ``set_progress``
    is its progress event)."""

    run_id: str
    runs_dir: Path | None
    set_progress: Callable[[float, float, str | None], None]
    _settings: Settings | None
    _storage_config: StorageConfig | None
    _locations: dict[str, StorageLocation]

    @property
    def artifacts_dir(self) -> Path:
        """This run's own folder for output files (created on first use)."""
        path = self._run_folder / "artifacts"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def _run_folder(self) -> Path:
        base = self.runs_dir if self.runs_dir is not None else Path.cwd() / ".hoist-runs"
        return base / self.run_id

    def download(self, url: str, *, sha256: str | None = None, name: str | None = None) -> Path:
        """Download ``url`` into this run's ``cache/`` folder: resumable (an interrupted
        or cancelled download continues from its ``.part`` file), checked against
        ``sha256`` when given, with progress events (category ``download``).

        Raises:
            ChecksumMismatchError: the file's SHA-256 is not ``sha256`` (it is removed).
            StorageError: the URL cannot be read (its message names it, without secrets).
        """
        from hoist.storage.download import download

        file = name or url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
        dest = self._run_folder / "cache" / file

        def report(done: int, total: int | None) -> None:
            self.set_progress(done, total or done, "download")

        return download(url, dest, sha256=sha256, progress=report)

    def storage(self, location: str | os.PathLike[str]) -> StorageLocation:
        """A storage location to read inputs from and write outputs to: a name from the
        storage config (``ctx.storage("data")``), a URL (``s3://bucket/prefix``,
        ``sftp://...``, ``file://...``) or a local folder. The config is read on first use
        and each location opened once per run::

            data = self.ctx.storage("data")
            table = data.read_bytes("iris/train.csv")
            data.write_bytes(f"results/{self.ctx.run_id}.json", payload)

        Raises:
            StorageLocationNotFoundError: a bare name that is not configured.
            ConfigError: the storage config is broken, or a credential is not set.
            StorageError: a malformed URL or an unknown scheme (operations on the
                location raise it too, naming the location and path, never a secret).
        """
        from hoist.storage import open_location

        key = os.fspath(location)
        found = self._locations.get(key)
        if found is None:
            found = open_location(location, config=self._storage_settings())
            self._locations[key] = found
        return found

    @property
    def settings(self) -> Settings:
        """The settings this run follows: its executor's, else the process runtime's."""
        if self._settings is None:
            from hoist.runs.runtime import get_runtime

            self._settings = get_runtime().settings
        return self._settings

    def _storage_settings(self) -> StorageConfig:
        if self._storage_config is None:
            from hoist.storage import load_storage_config

            self._storage_config = load_storage_config(settings=self.settings)
        return self._storage_config
