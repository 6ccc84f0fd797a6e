"""An open storage file whose every call raises Hoist's storage errors: a write to S3
may only fail when the file is closed, so the mapping cannot stop at ``open``."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, Any, TypeVar

from hoist.storage.failures import ErrorContext, translated

__all__ = ["TranslatedFile"]

T = TypeVar("T")


class TranslatedFile(io.RawIOBase):
    """A binary file of a storage location (what :meth:`StorageLocation.open` returns)."""

    def __init__(self, raw: IO[bytes], context: ErrorContext, path: str) -> None:
        super().__init__()
        self._raw, self._context, self._path = raw, context, path

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        with translated(self._context, self._path):
            return fn(*args)

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when ``-1`` or ``None``)."""
        return self._call(self._raw.read, -1 if size is None else size)

    def readall(self) -> bytes:
        """All that is left."""
        return self._call(self._raw.read)

    def readinto(self, buffer: Any) -> int:
        """Read into a writable buffer; the number of bytes read."""
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        """Write bytes; the number written."""
        written = self._call(self._raw.write, data)
        return len(data) if written is None else int(written)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (as :meth:`io.IOBase.seek`)."""
        return int(self._call(self._raw.seek, offset, whence))

    def tell(self) -> int:
        """The position."""
        return int(self._call(self._raw.tell))

    def readable(self) -> bool:
        """Opened for reading."""
        return bool(self._raw.readable())

    def writable(self) -> bool:
        """Opened for writing."""
        return bool(self._raw.writable())

    def seekable(self) -> bool:
        """Can seek (reads usually can, writes to object stores cannot)."""
        return bool(self._raw.seekable())

    def flush(self) -> None:
        """Flush buffered writes (object stores write on close)."""
        if not self.closed and not getattr(self._raw, "closed", False):
            self._call(self._raw.flush)

    def close(self) -> None:
        """Close, which for a write is when the data lands (or fails to)."""
        if self.closed:
            return
        try:
            self._call(self._raw.close)
        finally:
            super().close()
