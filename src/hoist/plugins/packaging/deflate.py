"""A gzip stream compressed on two threads, with the same bytes however it is scheduled.

The data is cut into blocks at fixed points (the caller's batches, which depend on the
files alone); each block is deflated on its own (primed with the 32 KiB before it, as
``pigz`` does) and ended with a sync flush, so the blocks join into one deflate stream
inside one gzip member with no file name and time 0. ``zlib`` lets go of the GIL while
it compresses, so the packaging thread keeps reading files meanwhile.
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

__all__ = ["DeflateWriter"]

_WINDOW = 32 * 1024
# magic, deflate, no flags (no name), time 0, no extra flags, OS "unknown" (as Python's gzip)
_HEADER = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"


class Sink(Protocol):
    """Where compressed bytes go (a binary file, or a wrapper that hashes them)."""

    def write(self, data: bytes, /) -> object: ...


class DeflateWriter:
    """Write blocks in order; :meth:`close` ends the gzip member.

    Args:
        sink: where the gzip bytes go.
        level: zlib's compression level.
        threads: blocks deflated at once.
    """

    def __init__(self, sink: Sink, *, level: int = 6, threads: int = 2) -> None:
        self.sink, self.level = sink, level
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="hoist-deflate")
        self.pending: deque[Future[bytes]] = deque()
        self.limit = threads * 2
        self.crc, self.size = 0, 0
        self.previous = b""
        self.sink.write(_HEADER)

    def write(self, block: bytes) -> None:
        """Queue ``block`` (its bytes are compressed later; do not change them)."""
        if not block:
            return
        self.crc = zlib.crc32(block, self.crc)
        self.size += len(block)
        self.pending.append(self.pool.submit(self._deflate, block, self.previous, False))
        self.previous = block[-_WINDOW:]
        while len(self.pending) > self.limit:
            self.sink.write(self.pending.popleft().result())

    def close(self) -> None:
        """Write what is queued, end the stream and the member (crc, size)."""
        try:
            self.pending.append(self.pool.submit(self._deflate, b"", self.previous, True))
            while self.pending:
                self.sink.write(self.pending.popleft().result())
            self.sink.write(struct.pack("<II", self.crc, self.size & 0xFFFFFFFF))
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop the threads (pending blocks are dropped)."""
        for future in self.pending:
            future.cancel()
        self.pending.clear()
        self.pool.shutdown(wait=True)

    def _deflate(self, block: bytes, primer: bytes, last: bool) -> bytes:
        if primer:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15, zdict=primer)
        else:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        out = compressor.compress(block)
        return out + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
