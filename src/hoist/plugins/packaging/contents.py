"""Read a plugin package without unpacking it: its manifest, and every entry checked.

An entry must be a plain file or folder whose name stays inside the target: no absolute
path, no drive, no ``..``, no backslash, no symlink, hard link, device or fifo, and no
name twice. The files must be the ones the manifest lists, ``config.yaml`` among them.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path, PurePosixPath

from hoist.plugins.packaging.errors import PackagingError, UnsafeArchiveError
from hoist.plugins.packaging.manifest import MANIFEST_NAME, Manifest

__all__ = ["read_archive"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def read_archive(archive: Path, source: str) -> tuple[Manifest, set[str]]:
    """The manifest and entry names of a plugin package, every entry checked.

    Raises:
        UnsafeArchiveError: an entry is unsafe (see the module's docstring).
        PackagingError: not a gzip'd tar, no manifest, or files that are not the
            manifest's.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            names: set[str] = set()
            for member in members:
                name = _checked_name(member, source)
                if name in names:
                    raise UnsafeArchiveError(source, member.name, "it appears twice")
                names.add(name)
            manifest_member = next((m for m in members if m.name == MANIFEST_NAME), None)
            if manifest_member is None:
                raise PackagingError(source, f"not a plugin package (no {MANIFEST_NAME})")
            handle = tar.extractfile(manifest_member)
            manifest_bytes = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise PackagingError(source, f"not a plugin package (a .tar.gz): {exc}") from None
    manifest = Manifest.from_bytes(manifest_bytes, source=source)
    files = {m.name for m in members if m.isreg()} - {MANIFEST_NAME}
    listed = {f.path for f in manifest.files}
    if files != listed or "config.yaml" not in listed:
        extra, missing = sorted(files - listed), sorted(listed - files)
        problem = "its files are not the ones its manifest lists"
        if extra or missing:
            problem += f" (unlisted: {extra[:5]}, missing: {missing[:5]})"
        else:
            problem = "no config.yaml in the package"
        raise PackagingError(source, problem)
    return manifest, names


def _checked_name(member: tarfile.TarInfo, source: str) -> str:
    """The entry's name, refused when it would leave the target or is not a plain file
    or folder."""
    name = member.name
    if member.issym() or member.islnk():
        raise UnsafeArchiveError(source, name, f"a link to {member.linkname!r}")
    if not (member.isreg() or member.isdir()):
        raise UnsafeArchiveError(source, name, "not a plain file or folder (device, fifo)")
    if not name or "\0" in name or "\\" in name:
        raise UnsafeArchiveError(source, name, "not a valid file name")
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeArchiveError(source, name, "an absolute path")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise UnsafeArchiveError(source, name, "it climbs out of the target with '..'")
    if name.startswith("./") or any(p in ("", ".") for p in name.rstrip("/").split("/")):
        raise UnsafeArchiveError(source, name, "not a normalised path")
    return name
