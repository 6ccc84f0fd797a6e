"""``hoist-manifest.json``: what a plugin package holds (code, version, files with their
sizes and sha256, requirements), written into the archive as its last entry."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist.plugins.packaging.errors import PackagingError

__all__ = [
    "MANIFEST_NAME",
    "VERSION_RULE",
    "FileRecord",
    "Manifest",
    "archive_name",
    "check_version",
    "sha256_file",
]

MANIFEST_NAME = "hoist-manifest.json"
FORMAT = 1
CODE_RULE = re.compile(r"^[a-z][a-z0-9_\-]*$")  # PluginConfig.code's pattern
VERSION_RULE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")
"""A version usable in file names and storage paths (``1.2.0``, ``0.3.0rc1``)."""


@dataclass(frozen=True)
class FileRecord:
    """One packaged file."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a package holds.

    Attributes:
        code, name, version: from the plugin's ``config.yaml``.
        requirements: the ``requirements`` of ``config.yaml``.
        files: every packaged file, sorted by path.
    """

    code: str
    name: str
    version: str
    requirements: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)

    @property
    def archive_name(self) -> str:
        """``<code>-<version>.tar.gz``."""
        return archive_name(self.code, self.version)

    def to_bytes(self) -> bytes:
        """The manifest as JSON: sorted keys, one file a line, so the same package gives
        the same bytes (built by hand: ``json.dumps(indent=...)`` is slow for 10,000
        files)."""
        dump = json.dumps
        files = ",\n".join(
            f'    {{"path": {dump(f.path)}, "sha256": "{f.sha256}", "size": {f.size}}}'
            for f in self.files
        )
        lines = [
            "{",
            f'  "code": {dump(self.code)},',
            f'  "files": [\n{files}\n  ],' if self.files else '  "files": [],',
            f'  "format": {FORMAT},',
            f'  "name": {dump(self.name)},',
            f'  "requirements": {dump(list(self.requirements))},',
            f'  "version": {dump(self.version)}',
            "}",
        ]
        return ("\n".join(lines) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str) -> Manifest:
        """Read a manifest.

        Raises:
            PackagingError: not a manifest this Hoist understands.
        """
        try:
            raw: Any = json.loads(data)
            if raw.get("format") != FORMAT:
                raise ValueError(f"format {raw.get('format')!r} is not {FORMAT}")
            manifest = cls(
                code=str(raw["code"]),
                name=str(raw.get("name", raw["code"])),
                version=str(raw["version"]),
                requirements=[str(r) for r in raw.get("requirements", [])],
                files=[FileRecord(str(f["path"]), int(f["size"]), str(f["sha256"]))
                       for f in raw["files"]],
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PackagingError(source, f"{MANIFEST_NAME} is broken: {exc}") from None
        if not CODE_RULE.match(manifest.code):
            raise PackagingError(source, f"{MANIFEST_NAME}: code {manifest.code!r} is not valid")
        check_version(manifest.version, source)
        return manifest


def archive_name(code: str, version: str) -> str:
    """``<code>-<version>.tar.gz``."""
    return f"{code}-{version}.tar.gz"


def check_version(version: str, source: str) -> None:
    """Raises PackagingError when ``version`` cannot name a file or a storage folder."""
    if not VERSION_RULE.match(version):
        raise PackagingError(
            source,
            f"version {version!r} must be letters, digits, '.', '+', '_' or '-' "
            "(it names the archive and the published folder)",
        )


def sha256_file(path: Path) -> str:
    """A file's sha256 (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
