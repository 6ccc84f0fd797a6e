"""The CLI's API tokens, one per server, in ``HOIST_HOME/credentials.json`` (mode 0600).

The file maps a server URL to what ``hoist login`` got from it::

    {"http://127.0.0.1:8465": {"token": "hoist_...", "token_id": "...", "username": "ops"}}
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from hoist.errors import UserInputError

__all__ = [
    "CREDENTIALS_FILE",
    "credentials_path",
    "forget",
    "load",
    "lookup",
    "normalize_url",
    "remember",
]

CREDENTIALS_FILE = "credentials.json"


def normalize_url(url: str) -> str:
    """The key a server's credentials are kept under (no trailing slash).

    Raises:
        UserInputError: not an ``http://`` or ``https://`` URL.
    """
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise UserInputError(f"--server must be an http:// or https:// URL, got {url!r}")
    return url


def credentials_path(home: Path) -> Path:
    """Where the credentials of ``HOIST_HOME`` are kept."""
    return home / CREDENTIALS_FILE


def load(home: Path) -> dict[str, dict[str, Any]]:
    """Every saved server entry (empty when there is no file).

    Raises:
        UserInputError: the file exists but is not valid JSON (naming it).
    """
    path = credentials_path(home)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserInputError(f"cannot read {path}: {exc}; delete it and log in again") from None
    if not isinstance(data, dict):
        raise UserInputError(f"{path} must hold a JSON object; delete it and log in again")
    return {
        k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("token"), str)
    }


def lookup(home: Path, url: str) -> dict[str, Any] | None:
    """The saved entry for ``url`` (``token``, ``token_id``, ``username``), or ``None``."""
    return load(home).get(normalize_url(url))


def remember(home: Path, url: str, token: str, token_id: str, username: str) -> Path:
    """Save ``token`` for ``url`` (replacing an older one); returns the file's path."""
    entries = load(home)
    entries[normalize_url(url)] = {
        "token": token, "token_id": token_id, "username": username, "saved_at": time.time(),
    }  # fmt: skip
    return _write(home, entries)


def forget(home: Path, url: str) -> dict[str, Any] | None:
    """Remove the entry for ``url``; returns it (``None`` if there was none)."""
    entries = load(home)
    entry = entries.pop(normalize_url(url), None)
    if entry is not None:
        _write(home, entries)
    return entry


def _write(home: Path, entries: dict[str, dict[str, Any]]) -> Path:
    # Created 0600 from the start (never world-readable, not even for a moment), written
    # beside the target and renamed over it, so a crash never leaves half a file.
    path = credentials_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(entries, out, indent=2)
        os.chmod(tmp, 0o600)  # in case the file already existed with other bits
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path
