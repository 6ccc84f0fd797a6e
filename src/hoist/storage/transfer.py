"""Moving bytes with progress: batches through an async filesystem's own concurrent
``put``/``get`` (S3, GCS), a streamed copy otherwise; and the streamed sha256."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from fsspec.callbacks import Callback  # type: ignore[import-untyped]

from hoist.storage.entries import Progress

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = ["CHUNK", "ByteCounter", "get_files", "put_files", "sha256_of", "stream"]

CHUNK = 8 * 1024 * 1024
"""Bytes per read of a streamed copy or checksum."""


class ByteCounter:
    """Bytes moved so far by any number of concurrent file transfers, reported to a
    :data:`Progress` callback (thread-safe)."""

    def __init__(self, progress: Progress | None, total: int | None) -> None:
        self.progress, self.total, self.done = progress, total, 0
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        """Count ``count`` more bytes and report."""
        if not count:
            return
        with self._lock:
            self.done += count
            done = self.done
        if self.progress is not None:
            self.progress(done, self.total)

    def callback(self) -> Callback:
        """An fsspec callback whose per-file branches feed this counter."""
        return _BatchCallback(self)


class _FileCallback(Callback):  # type: ignore[misc]
    """One file of a batch: fsspec reports its bytes with ``relative_update``."""

    def __init__(self, counter: ByteCounter) -> None:
        super().__init__()
        self.counter = counter

    def relative_update(self, inc: int = 1) -> None:
        self.counter.add(inc)

    def call(self, hook_name: str | None = None, **kwargs: Any) -> None:
        return None


class _BatchCallback(Callback):  # type: ignore[misc]
    """The batch: counts files (ignored); hands each file a :class:`_FileCallback`."""

    def __init__(self, counter: ByteCounter) -> None:
        super().__init__()
        self.counter = counter

    def branched(self, path_1: Any, path_2: Any, **kwargs: Any) -> Callback:
        return _FileCallback(self.counter)

    def call(self, hook_name: str | None = None, **kwargs: Any) -> None:
        return None


def stream(source: IO[bytes], dest: IO[bytes], counter: ByteCounter) -> None:
    """Copy ``source`` to ``dest`` in chunks, counting (paramiko's files pipelined)."""
    if hasattr(dest, "set_pipelined"):
        dest.set_pipelined(True)
    if hasattr(source, "prefetch"):
        source.prefetch()
    while chunk := source.read(CHUNK):
        dest.write(chunk)
        counter.add(len(chunk))


def put_files(
    fs: AbstractFileSystem,
    pairs: Sequence[tuple[Path, str]],
    counter: ByteCounter,
    *,
    make_dirs: bool,
) -> None:
    """Upload ``(local file, filesystem path)`` pairs."""
    if make_dirs:
        for parent in sorted({fs._parent(remote) for _, remote in pairs}):
            fs.makedirs(parent, exist_ok=True)
    if fs.async_impl and len(pairs) > 0:
        locals_ = [str(local) for local, _ in pairs]
        fs.put(locals_, [remote for _, remote in pairs], callback=counter.callback())
        return
    for local, remote in pairs:
        with local.open("rb") as source, fs.open(remote, "wb") as dest:
            stream(source, dest, counter)


def get_files(
    fs: AbstractFileSystem, pairs: Sequence[tuple[str, Path]], counter: ByteCounter
) -> None:
    """Download ``(filesystem path, local file)`` pairs (parent folders are made)."""
    for _, local in pairs:
        local.parent.mkdir(parents=True, exist_ok=True)
    if fs.async_impl and len(pairs) > 0:
        remotes = [remote for remote, _ in pairs]
        fs.get(remotes, [str(local) for _, local in pairs], callback=counter.callback())
        return
    for remote, local in pairs:
        with fs.open(remote, "rb") as source, local.open("wb") as dest:
            stream(source, dest, counter)


def sha256_of(source: IO[bytes]) -> str:
    """The sha256 hex digest of a stream, read in chunks."""
    digest = hashlib.sha256()
    while chunk := source.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
