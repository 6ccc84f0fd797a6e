"""``hoist plugins publish``: upload a plugin package and its checksum to a storage
location, under ``<code>/<version>/`` (see :mod:`~hoist.plugins.packaging.remote`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hoist.plugins.packaging.archive import build_package, checksum_line
from hoist.plugins.packaging.contents import read_archive
from hoist.plugins.packaging.errors import PackagingError, VersionExistsError
from hoist.plugins.packaging.manifest import archive_name
from hoist.plugins.packaging.remote import PublishedPackage, local_digest, open_target
from hoist.settings import Settings

if TYPE_CHECKING:
    from hoist.storage import Progress, StorageLocation

__all__ = ["publish_plugin"]


def publish_plugin(
    source: str | os.PathLike[str],
    to: str | StorageLocation,
    *,
    force: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> PublishedPackage:
    """Upload a plugin package and its checksum to ``to`` under ``<code>/<version>/``.

    Args:
        source: a plugin folder (packaged first) or a package archive (checked against
            the ``.sha256`` beside it when there is one).
        to: a storage location, its configured name or a URL.
        force: replace a version published already.
        settings: for the storage config.
        progress: called with (bytes, total) while the archive uploads.

    Raises:
        VersionExistsError: the version is published there already (without ``force``).
        PackagingError, ConfigError: the plugin cannot be packaged.
        StorageError: the location cannot be written.
    """
    location = open_target(to, settings)
    path = Path(source)
    with tempfile.TemporaryDirectory(prefix="hoist-publish-") as scratch:
        if path.is_dir():
            built = build_package(path, scratch)
            archive, digest, manifest = built.archive, built.sha256, built.manifest
        elif path.is_file():
            archive, digest = path, local_digest(path)
            manifest, _ = read_archive(path, str(path))
        else:
            raise PackagingError(str(path), "no such plugin folder or archive")
        folder = f"{manifest.code}/{manifest.version}"
        name = archive_name(manifest.code, manifest.version)
        if not force and (
            location.exists(f"{folder}/{name}") or location.exists(f"{folder}/{name}.sha256")
        ):
            raise VersionExistsError(manifest.code, manifest.version, location.name)
        if force and location.exists(f"{folder}/{name}.sha256"):
            # the old checksum goes first: a half-replaced version is never taken for whole
            location.remove(f"{folder}/{name}.sha256")
        entry = location.upload(archive, f"{folder}/{name}", progress=progress)
        location.write_bytes(f"{folder}/{name}.sha256", checksum_line(digest, name).encode())
    return PublishedPackage(
        manifest.code,
        manifest.version,
        f"{folder}/{name}",
        location.url_of(f"{folder}/{name}"),
        entry.size,
        True,
        entry.modified,
    )
