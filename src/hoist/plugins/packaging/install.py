"""``hoist plugins install``: fetch a plugin package, verify it, unpack it safely into the
plugin folder.

Nothing is written to the plugin folder until the archive's sha256 matches and every
entry has been checked: each must be a plain file or folder whose name stays inside the
target (no absolute path, no ``..``, no symlink, hard link or device), and the files
must be the ones the manifest lists. The archive is then unpacked (with ``tarfile``'s
``data`` filter as a second guard) into a staging folder beside the target, the files'
sha256 checked against the manifest, and the folder renamed into place.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hoist.plugins.config import load_config
from hoist.plugins.packaging.contents import read_archive
from hoist.plugins.packaging.errors import PackagingError, PluginExistsError
from hoist.plugins.packaging.manifest import Manifest, sha256_file
from hoist.plugins.packaging.remote import fetch_archive, fetch_published
from hoist.settings import Settings
from hoist.storage.download import ChecksumMismatchError

if TYPE_CHECKING:
    from hoist.storage import Progress, StorageLocation

__all__ = [
    "InstalledPlugin",
    "default_plugin_folder",
    "install_archive",
    "install_plugin",
]


@dataclass(frozen=True)
class InstalledPlugin:
    """Where a package was unpacked, and what it held."""

    path: Path
    manifest: Manifest
    sha256: str
    source: str


def default_plugin_folder(settings: Settings | None = None) -> Path:
    """Where installs go by default: the first of ``plugin_paths``, else
    ``<home>/plugins``."""
    return (settings or Settings.from_env()).plugin_install_folder


def install_plugin(
    source: str | os.PathLike[str],
    *,
    into: str | os.PathLike[str] | None = None,
    sha256: str | None = None,
    force: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
    location: StorageLocation | None = None,
) -> InstalledPlugin:
    """Install a plugin package from a file, a URL or a published reference.

    Args:
        source: an archive file (its ``.sha256`` beside it), a URL of one (``https://``,
            ``s3://``, ``file://``, ...; ``<url>.sha256`` beside it), or
            ``LOCATION:CODE[@VERSION]`` (published to a configured storage location;
            the newest version when none is named).
        into: the plugin folder (default: :func:`default_plugin_folder`); the plugin
            lands in ``into/<code>``.
        sha256: the archive's expected digest (default: the ``.sha256`` beside it).
        force: replace an installed plugin of the same code.
        settings: for the default folder and the storage config.
        progress: called with (bytes, total) while the archive downloads.
        location: a storage location to install from; ``source`` is then
            ``CODE[@VERSION]``.

    Raises:
        ChecksumMismatchError: the archive is not the one its checksum names.
        UnsafeArchiveError: an entry would leave the target, or is a link or a device.
        PluginExistsError: ``into/<code>`` exists (without ``force``).
        PackagingError: not a plugin package, or no checksum to check it against.
        StorageError: the archive or its checksum could not be fetched.
    """
    settings = settings or Settings.from_env()
    target_root = Path(into) if into is not None else default_plugin_folder(settings)
    with tempfile.TemporaryDirectory(prefix="hoist-install-") as scratch:
        if location is not None:
            code, _, version = str(source).partition("@")
            archive, expected, label = fetch_published(
                location, code, version or None, Path(scratch), sha256=sha256, progress=progress
            )
        else:
            archive, expected, label = fetch_archive(
                str(source), Path(scratch), sha256=sha256, settings=settings, progress=progress
            )
        return install_archive(archive, expected, into=target_root, force=force, source=label)


def install_archive(
    archive: Path,
    sha256: str,
    *,
    into: str | os.PathLike[str],
    force: bool = False,
    source: str | None = None,
) -> InstalledPlugin:
    """Verify a local archive against ``sha256`` and unpack it into ``into/<code>``.

    Raises:
        see :func:`install_plugin`.
    """
    label = source or str(archive)
    actual = sha256_file(archive)
    if actual != sha256.lower():
        raise ChecksumMismatchError(label, sha256.lower(), actual)
    manifest, members = read_archive(archive, label)
    root = Path(into)
    target = root / manifest.code
    if (target.exists() or target.is_symlink()) and not force:
        raise PluginExistsError(str(target), f"{manifest.code} is installed there already")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{manifest.code}.installing-", dir=root))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            chosen = [m for m in tar.getmembers() if m.name in members]
            tar.extractall(staging, members=chosen, filter="data")
        _check_files(staging, manifest, label)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(root.iterdir()):
            root.rmdir()
        raise
    return InstalledPlugin(target, manifest, actual, label)


def _check_files(staging: Path, manifest: Manifest, source: str) -> None:
    for record in manifest.files:
        path = staging / record.path
        if not path.is_file() or sha256_file(path) != record.sha256:
            raise PackagingError(source, f"{record.path} does not match the manifest's sha256")
    code = load_config(staging / "config.yaml").code
    if code != manifest.code:
        problem = f"its config.yaml says code {code!r}, its manifest {manifest.code!r}"
        raise PackagingError(source, problem)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` (``force``) is moved
    aside first and removed only once the new folder is in place."""
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
        os.replace(target, old)
    try:
        os.replace(staging, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
