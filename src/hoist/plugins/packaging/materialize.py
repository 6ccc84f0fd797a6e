"""A published plugin package as code to run: Ray job mode (``working_dir``) and the
deployment strategies (``code_path``) take an archive file, its URL or
``LOCATION:CODE[@VERSION]`` wherever they take a plugin folder::

    executor = RayJobExecutor(working_dir="models:detector@0.3.0")
    DeployConfig(code_path="models:detector@0.3.0", action="predict")

The archive is fetched, checked against its sha256 and unpacked (with the checks of
:func:`~hoist.plugins.packaging.install.install_archive`) into ``<cache>/<sha256>/<code>``;
the same archive is unpacked once, whoever asks for it next gets that folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hoist.plugins.packaging.install import install_archive
from hoist.plugins.packaging.manifest import MANIFEST_NAME, sha256_file
from hoist.plugins.packaging.remote import fetch_archive, parse_ref
from hoist.settings import Settings

if TYPE_CHECKING:
    from hoist.storage import Progress

__all__ = ["is_package_source", "materialize", "package_cache_folder"]

_ARCHIVE_SUFFIX = ".tar.gz"


def is_package_source(source: str | os.PathLike[str]) -> bool:
    """Whether ``source`` names a plugin package (an archive file, a URL of one, or
    ``LOCATION:CODE[@VERSION]``) rather than a plugin folder."""
    if isinstance(source, os.PathLike):
        path = Path(source)
        return path.name.endswith(_ARCHIVE_SUFFIX) and path.is_file()
    text = str(source)
    if "://" in text:
        return text.split("?", 1)[0].endswith(_ARCHIVE_SUFFIX)
    if Path(text).exists():
        return Path(text).is_file() and text.endswith(_ARCHIVE_SUFFIX)
    return parse_ref(text) is not None


def package_cache_folder(settings: Settings | None = None) -> Path:
    """Where :func:`materialize` unpacks archives by default: ``<home>/cache/packages``."""
    return (settings or Settings.from_env()).home / "cache" / "packages"


def materialize(
    source: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Path:
    """The plugin folder of a published package, unpacked into a cache keyed by sha256.

    Args:
        source: an archive file (its ``.sha256`` beside it), a URL of one, or
            ``LOCATION:CODE[@VERSION]`` (the newest version when none is named).
        cache_dir: where packages are unpacked (default: :func:`package_cache_folder`).
        settings: for the storage config and the default cache folder.
        progress: called with (bytes, total) while the archive downloads.

    Returns:
        ``<cache_dir>/<sha256>/<code>``, a plugin folder ready to load.

    Raises:
        ChecksumMismatchError: the archive is not the one its checksum names.
        UnsafeArchiveError: an entry would leave the target, or is a link or a device.
        PackagingError: not a plugin package, not published, or no checksum.
        StorageError: the archive or its checksum could not be fetched.
    """
    settings = settings or Settings.from_env()
    cache = Path(cache_dir) if cache_dir is not None else package_cache_folder(settings)
    with tempfile.TemporaryDirectory(prefix="hoist-materialize-") as scratch:
        archive, expected, label = fetch_archive(
            os.fspath(source), Path(scratch), settings=settings, progress=progress
        )
        folder = cache / expected.lower()
        unpacked = _unpacked(folder)
        if unpacked is not None and _same_archive(archive, expected):
            return unpacked
        return install_archive(archive, expected, into=folder, force=True, source=label).path


def _unpacked(folder: Path) -> Path | None:
    """The plugin folder an earlier call unpacked into ``folder``, if one is whole."""
    if not folder.is_dir():
        return None
    found = [p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir()]
    if len(found) == 1 and (found[0] / MANIFEST_NAME).is_file():
        return found[0]
    return None


def _same_archive(archive: Path, expected: str) -> bool:
    """Whether the fetched archive is the one its checksum names (it is verified before a
    cached folder is used, as before an unpack)."""
    return sha256_file(archive) == expected.lower()
