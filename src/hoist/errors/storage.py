"""Errors of ``hoist.storage``: which location, which path, what failed, and never a
secret (keys, passwords and tokens are redacted before a message is built)."""

from __future__ import annotations

from hoist.errors.base import HoistError, NotFoundError, UserInputError

__all__ = [
    "ChecksumMismatchError",
    "DownloadError",
    "StorageError",
    "StorageLocationNotFoundError",
    "StorageNotFoundError",
    "StoragePermissionError",
    "StorageReadOnlyError",
    "StorageUnreachableError",
]


class StorageError(HoistError):
    """A storage operation failed.

    The message reads ``storage 'models' (s3://bucket/prefix): weights/x.pt: not found``.

    Attributes:
        location: the location's name (``models``), or its URL for an ad-hoc one.
        url: the location's root URL, without credentials.
        path: the path below the root the operation was about (``""``: the root).
        problem: what failed, in words.
    """

    def __init__(self, problem: str, *, location: str, url: str = "", path: str = "") -> None:
        self.problem, self.location, self.url, self.path = problem, location, url, path
        where = f"storage '{location}'"
        if url and url != location:
            where += f" ({url})"
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")


class StorageNotFoundError(StorageError):
    """The path (or the bucket, or the host's folder) does not exist."""


class StoragePermissionError(StorageError):
    """Access was refused: wrong or missing credentials, or not allowed to do that."""


class StorageUnreachableError(StorageError):
    """The storage could not be reached (connection refused, unknown host, timeout)."""


class StorageReadOnlyError(StorageError):
    """A write to a location that only reads (``http(s)://``)."""


class StorageLocationNotFoundError(NotFoundError):
    """A bare name that no location of the storage config has (nor a local folder); the
    message suggests the nearest configured name."""

    kind = "storage location"


class DownloadError(StorageError):
    """A transfer was cut off more often than it may be retried (the part is kept, so a
    later call continues it). Unreachable servers, missing files and refused requests
    raise :class:`StorageUnreachableError`, :class:`StorageNotFoundError` and
    :class:`StoragePermissionError`; ``location`` is then the URL (without credentials).
    """


class ChecksumMismatchError(UserInputError):
    """A file's sha256 is not the one expected; the file was not kept.

    Attributes:
        source: the URL or file checked.
        expected, actual: sha256 hex digests.
    """

    def __init__(self, source: str, expected: str, actual: str) -> None:
        self.source, self.expected, self.actual = source, expected, actual
        super().__init__(
            f"{source}: sha256 mismatch (expected {expected}, got {actual}); nothing kept"
        )
