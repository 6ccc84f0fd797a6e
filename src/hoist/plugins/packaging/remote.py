"""Plugin packages on storage locations: what is published (``hoist plugins list
--remote``), and fetching an archive back for
:func:`~hoist.plugins.packaging.install.install_plugin`.

A published version is two objects below the location's root::

    <code>/<version>/<code>-<version>.tar.gz
    <code>/<version>/<code>-<version>.tar.gz.sha256

The archive goes up first and the checksum last, so a version whose checksum is there is
whole; one without is listed as incomplete and not installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hoist.errors import StorageNotFoundError
from hoist.plugins.packaging.archive import parse_checksum
from hoist.plugins.packaging.errors import PackagingError
from hoist.plugins.packaging.manifest import archive_name, sha256_file
from hoist.settings import Settings
from hoist.storage.download import ChecksumMismatchError, download

if TYPE_CHECKING:
    from hoist.storage import Progress, StorageLocation

__all__ = [
    "PublishedPackage",
    "fetch_archive",
    "fetch_published",
    "list_published",
    "local_digest",
    "open_target",
    "parse_ref",
    "version_key",
]

_REF = re.compile(
    r"^(?P<location>[A-Za-z0-9_.-]+):(?P<code>[a-z][a-z0-9_\-]*)(?:@(?P<version>[^/@]+))?$"
)


@dataclass(frozen=True)
class PublishedPackage:
    """One published plugin version.

    Attributes:
        code, version: the plugin version.
        path: the archive's path below the location's root.
        url: the archive's full URL (no credentials).
        size: the archive's size in bytes, when the storage says.
        complete: its ``.sha256`` is there (it can be installed).
        modified: when the archive was written, when the storage says.
    """

    code: str
    version: str
    path: str
    url: str
    size: int | None
    complete: bool
    modified: datetime | None = None


def list_published(
    location: str | StorageLocation, *, settings: Settings | None = None
) -> list[PublishedPackage]:
    """Every plugin version published at ``location``, by code then version (oldest
    first); an empty or missing location has none.

    Raises:
        StorageError: the location cannot be read.
    """
    loc = open_target(location, settings)
    try:
        entries = loc.list("", recursive=True)
    except StorageNotFoundError:
        return []
    paths = {e.path for e in entries}
    found = []
    for entry in entries:
        parts = entry.path.split("/")
        if len(parts) != 3 or parts[2] != archive_name(parts[0], parts[1]):
            continue
        found.append(
            PublishedPackage(
                parts[0],
                parts[1],
                entry.path,
                loc.url_of(entry.path),
                entry.size,
                f"{entry.path}.sha256" in paths,
                entry.modified,
            )
        )
    return sorted(found, key=lambda p: (p.code, version_key(p.version)))


def parse_ref(text: str) -> tuple[str, str, str | None] | None:
    """``LOCATION:CODE[@VERSION]`` as (location, code, version), or ``None``."""
    found = _REF.match(text)
    if found is None:
        return None
    return found["location"], found["code"], found["version"]


def fetch_archive(
    source: str,
    scratch: Path,
    *,
    sha256: str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> tuple[Path, str, str]:
    """Bring an archive (a file, a URL, or ``LOCATION:CODE[@VERSION]``) into ``scratch``
    (a local file is used where it is); returns (archive, expected sha256, label).

    Raises:
        PackagingError: the source is none of those, or no checksum can be found.
        ChecksumMismatchError: an https download does not match its checksum.
        StorageError: the archive or its checksum cannot be fetched.
    """
    local = Path(source)
    if "://" not in source and local.is_file():
        if sha256 is None:
            sidecar = local.with_name(local.name + ".sha256")
            if not sidecar.is_file():
                raise PackagingError(
                    source, f"no checksum: {sidecar.name} is missing (or pass --sha256)"
                )
            sha256 = parse_checksum(sidecar.read_text(errors="replace"), str(sidecar))
        return local, sha256, source
    ref = None if "://" in source else parse_ref(source)
    if ref is not None:
        location_name, code, version = ref
        loc = open_target(location_name, settings)
        return fetch_published(loc, code, version, scratch, sha256=sha256, progress=progress)
    if "://" not in source:
        raise PackagingError(
            source, "no such archive; give a file, a URL, or LOCATION:CODE[@VERSION]"
        )
    base, _, name = source.rpartition("/")
    if source.startswith(("http://", "https://")):
        expected = sha256 or _http_checksum(source, scratch)
        archive = download(source, scratch / name, sha256=expected, progress=progress)
        return archive, expected, source
    return _fetch_from(open_target(base, settings), name, scratch, sha256, progress, source)


def fetch_published(
    loc: StorageLocation,
    code: str,
    version: str | None,
    scratch: Path,
    *,
    sha256: str | None = None,
    progress: Progress | None = None,
) -> tuple[Path, str, str]:
    """Download ``code`` ``version`` (default: the newest whole one) published at ``loc``
    into ``scratch``; returns (archive, expected sha256, label).

    Raises:
        PackagingError: that version (or any) is not published there.
        StorageError: the location cannot be read.
    """
    version = _published_version(loc, code, version, None)
    path = f"{code}/{version}/{archive_name(code, version)}"
    label = f"{loc.name}:{code}@{version}"
    return _fetch_from(loc, path, scratch, sha256, progress, label)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort versions by their numbers (``0.10.0`` after ``0.9.1``)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.+_-]", version)
    )


def _fetch_from(
    loc: StorageLocation,
    path: str,
    scratch: Path,
    sha256: str | None,
    progress: Progress | None,
    label: str,
) -> tuple[Path, str, str]:
    expected = sha256 or parse_checksum(
        loc.read_bytes(f"{path}.sha256").decode(errors="replace"), f"{label}.sha256"
    )
    archive = loc.download(path, scratch / path.rpartition("/")[2], progress=progress)
    return archive, expected, label


def _http_checksum(url: str, scratch: Path) -> str:
    sidecar = download(f"{url}.sha256", scratch / "checksum.sha256", resume=False)
    return parse_checksum(sidecar.read_text(errors="replace"), f"{url}.sha256")


def _published_version(
    loc: StorageLocation, code: str, version: str | None, settings: Settings | None
) -> str:
    """``version`` when it is published whole at ``loc``, else the newest one."""
    versions = [p.version for p in list_published(loc, settings=settings)
                if p.code == code and p.complete]  # fmt: skip
    if not versions:
        raise PackagingError(f"{loc.name}:{code}", f"no version of {code} is published there")
    if version is None:
        return max(versions, key=version_key)
    if version not in versions:
        known = ", ".join(sorted(versions, key=version_key))
        raise PackagingError(
            f"{loc.name}:{code}@{version}", f"not published there (published: {known})"
        )
    return version


def local_digest(path: Path) -> str:
    """A local archive's sha256, checked against the ``.sha256`` beside it if any.

    Raises:
        ChecksumMismatchError: the two differ.
    """
    digest = sha256_file(path)
    sidecar = path.with_name(path.name + ".sha256")
    if sidecar.is_file():
        expected = parse_checksum(sidecar.read_text(errors="replace"), str(sidecar))
        if expected != digest:
            raise ChecksumMismatchError(str(path), expected, digest)
    return digest


def open_target(target: str | StorageLocation, settings: Settings | None) -> StorageLocation:
    """A storage location from a name or URL (the storage config of ``settings``)."""
    if not isinstance(target, str):
        return target
    from hoist.storage import load_storage_config, open_location

    config = load_storage_config(settings=settings) if settings is not None else None
    return open_location(target, config=config)
