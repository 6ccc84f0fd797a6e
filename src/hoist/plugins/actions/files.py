"""File helpers the category bases share: checksums and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["sha256_bytes", "sha256_file", "write_atomic"]

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's content (hex), read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data`` (hex)."""
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes | str | Mapping[str, Any]) -> Path:
    """Write ``data`` (bytes, text, or a mapping as JSON) to ``path`` through a temporary
    file renamed into place, so a reader never sees half a file."""
    if isinstance(data, Mapping):
        data = json.dumps(dict(data), sort_keys=True)
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    return path
