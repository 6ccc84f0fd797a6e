"""What a listing returns (:class:`Entry`) and what a transfer reports (:data:`Progress`),
read from the differing ``info`` dictionaries of fsspec's filesystems."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Entry", "Progress", "entry_from_info"]

Progress = Callable[[int, int | None], None]
"""A transfer's progress callback: ``(bytes done, total bytes or None)``. It may be called
from a worker thread of the provider's library."""


@dataclass(frozen=True)
class Entry:
    """One listed object of a location.

    Attributes:
        path: relative to the location's root, ``/``-separated (``weights/best.pt``).
        size: bytes (``None`` for a folder, or when the storage does not say).
        is_dir: a folder (or, on an object store, a common prefix).
        modified: last modification, timezone-aware, when the storage says.
    """

    path: str
    size: int | None
    is_dir: bool
    modified: datetime | None = None


def entry_from_info(info: Mapping[str, Any], path: str) -> Entry:
    """An :class:`Entry` at ``path`` from one of fsspec's ``info``/``ls`` dictionaries."""
    # HTTP knows no folders: an index page (HTML at a URL ending in "/", after any
    # redirect) stands for one.
    index_page = info.get("mimetype") == "text/html" and str(info.get("url", "")).endswith("/")
    is_dir = info.get("type") == "directory" or index_page
    size = info.get("size")
    return Entry(
        path=path,
        size=None if is_dir or size is None else int(size),
        is_dir=is_dir,
        modified=_modified(info),
    )


def _modified(info: Mapping[str, Any]) -> datetime | None:
    for key in ("mtime", "LastModified", "updated", "last_modified", "Last-Modified"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, str):
            return _parse_time(value)
    return None


def _parse_time(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            stamp = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
