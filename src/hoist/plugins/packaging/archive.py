"""``hoist plugins package``: a plugin folder as a reproducible ``<code>-<version>.tar.gz``.

The same files give the same bytes: entries sorted by name, every entry owned by 0:0
with no user or group name, one fixed modification time, modes normalised (0644, or
0755 for a file with an executable bit), no folder entries, and a gzip header without a
file name or time. The manifest (:mod:`~hoist.plugins.packaging.manifest`) is the last
entry; ``<archive>.sha256`` beside the archive holds its digest in ``sha256sum`` format.

Speed (10,000 small files: the target is 0.8x of ``tar czf`` or better, see
``benchmarks/bench_packaging.py``): small files are read ahead by two threads, tar
headers are built in one step, and the stream is deflated in blocks on two more threads
(:mod:`~hoist.plugins.packaging.deflate`), none of which changes the bytes.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hoist.plugins.config import load_config
from hoist.plugins.packaging.deflate import DeflateWriter
from hoist.plugins.packaging.errors import PackagingError
from hoist.plugins.packaging.ignore import select_files
from hoist.plugins.packaging.manifest import (
    MANIFEST_NAME,
    FileRecord,
    Manifest,
    check_version,
)

__all__ = [
    "ENTRY_MTIME",
    "PackageResult",
    "build_package",
    "checksum_line",
    "parse_checksum",
]

ENTRY_MTIME = 315532800
"""Every entry's modification time: 1980-01-01 (the earliest a zip or wheel can hold)."""

COMPRESS_LEVEL = 6  # gzip's own default, so `tar czf` compares like with like
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE
_READ_WHOLE = 256 * 1024  # larger files are streamed, not read ahead whole
_BATCH, _AHEAD = 64, 4  # files per read-ahead batch, batches read ahead
_ZEROS = bytes(_BLOCK)
_FLUSH_AT = 1 << 20


@dataclass(frozen=True)
class PackageResult:
    """What :func:`build_package` wrote."""

    archive: Path
    checksum_file: Path
    sha256: str
    manifest: Manifest


def build_package(
    root: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None
) -> PackageResult:
    """Package the plugin in ``root`` into ``out_dir`` (default ``root/dist``).

    Raises:
        PackagingError: ``root`` is not a plugin folder, holds a symlink, or its version
            cannot name a file.
        ConfigError: its ``config.yaml`` (or ``.hoistignore``) is broken.
    """
    plugin = Path(root).resolve()
    if not (plugin / "config.yaml").is_file():
        raise PackagingError(str(root), "not a plugin folder (no config.yaml)")
    config = load_config(plugin / "config.yaml")
    check_version(config.version, str(plugin / "config.yaml"))
    out = Path(out_dir) if out_dir is not None else plugin / "dist"
    name = f"{config.code}-{config.version}.tar.gz"
    target = out / name
    files = select_files(plugin, exclude=(out,))
    inside = Path(os.path.realpath(out))
    if inside.is_relative_to(plugin):  # never the archive itself (--out PLUGIN, say)
        own = (inside / name).relative_to(plugin).as_posix()
        files = [f for f in files if f[0] not in (own, f"{own}.sha256")]
    out.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", dir=out)
    try:
        with os.fdopen(handle, "wb") as raw:
            hashing = _HashingWriter(raw)
            stream = _TarStream(hashing)
            try:
                records = _add_files(stream, files)
                manifest = Manifest(
                    code=config.code,
                    name=config.name,
                    version=config.version,
                    requirements=list(config.requirements),
                    files=records,
                )
                stream.entry(MANIFEST_NAME, manifest.to_bytes(), 0o644)
                stream.close()
            finally:
                stream.stop()
        os.chmod(temp_name, 0o644)  # mkstemp made it 0600
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    digest = hashing.digest.hexdigest()
    checksum_file = out / f"{name}.sha256"
    checksum_file.write_text(checksum_line(digest, name))
    return PackageResult(target, checksum_file, digest, manifest)


def checksum_line(sha256: str, name: str) -> str:
    """A ``sha256sum``-style line (``sha256sum -c`` checks it)."""
    return f"{sha256}  {name}\n"


def parse_checksum(text: str, source: str) -> str:
    """The digest of a ``.sha256`` file (``<hex>  <name>`` or the bare hex).

    Raises:
        PackagingError: it holds no sha256.
    """
    word = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    if len(word) != 64 or any(c not in "0123456789abcdef" for c in word):
        raise PackagingError(source, "not a sha256 checksum file")
    return word


class _HashingWriter:
    """A file that hashes what is written through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.digest = raw, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


class _TarStream:
    """Tar blocks gathered into ~1 MiB batches, deflated on two threads
    (:class:`~hoist.plugins.packaging.deflate.DeflateWriter`) while files are read."""

    def __init__(self, sink: _HashingWriter) -> None:
        self.gz = DeflateWriter(sink, level=COMPRESS_LEVEL)
        self.pending = bytearray()
        self.written = 0

    def _send(self) -> None:
        self.gz.write(bytes(self.pending))
        self.pending.clear()

    def entry(self, name: str, data_or_size: bytes | int, mode: int) -> None:
        """A file's header, then (given bytes) its data and padding."""
        if isinstance(data_or_size, int):
            self.add(_header(name, data_or_size, mode))
            return
        size = len(data_or_size)
        # one append per piece, one size check per file: this runs 10,000 times a package
        pending = self.pending
        before = len(pending)
        pending += _header(name, size, mode)
        pending += data_or_size
        if size % _BLOCK:
            pending += _ZEROS[: _BLOCK - size % _BLOCK]
        self.written += len(pending) - before
        if len(pending) >= _FLUSH_AT:
            self._send()

    def add(self, data: bytes | bytearray) -> None:
        self.pending += data
        self.written += len(data)
        if len(self.pending) >= _FLUSH_AT:
            self._send()

    def pad(self, size: int) -> None:
        rest = size % _BLOCK
        if rest:
            self.add(bytes(_BLOCK - rest))

    def close(self) -> None:
        """End the tar (two zero blocks, padding to a whole record) and the gzip."""
        self.add(bytes(2 * _BLOCK))
        rest = self.written % _RECORD
        if rest:
            self.add(bytes(_RECORD - rest))
        self._send()
        self.gz.close()

    def stop(self) -> None:
        """Stop the compressing threads (after close: harmless)."""
        self.gz.abort()


def _add_files(stream: _TarStream, files: list[tuple[str, str]]) -> list[FileRecord]:
    """Every file into the tar: small ones read ahead by two threads (opening and
    reading let go of the GIL), large ones streamed here."""
    records = []
    with ThreadPoolExecutor(2, thread_name_prefix="hoist-read") as pool:
        for name, path, data, mode in _read_ahead(files, pool):
            if data is None:
                with open(path, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    records.append(_stream_large(stream, name, fh, size, mode, path))
                continue
            stream.entry(name, data, mode)
            records.append(FileRecord(name, len(data), hashlib.sha256(data).hexdigest()))
    return records


def _read_ahead(
    files: list[tuple[str, str]], pool: ThreadPoolExecutor
) -> Iterator[tuple[str, str, bytes | None, int]]:
    """(name, path, bytes or None for a large file, mode) in order, a few batches ahead."""
    batches = iter([files[i : i + _BATCH] for i in range(0, len(files), _BATCH)])
    window: deque[tuple[list[tuple[str, str]], Future[list[tuple[bytes | None, int]]]]] = deque()
    for batch in batches:
        window.append((batch, pool.submit(_read_small, [path for _, path in batch])))
        if len(window) > _AHEAD:
            yield from _finished(*window.popleft())
    while window:
        yield from _finished(*window.popleft())


def _finished(
    batch: list[tuple[str, str]], read: Future[list[tuple[bytes | None, int]]]
) -> Iterator[tuple[str, str, bytes | None, int]]:
    for (name, path), (data, mode) in zip(batch, read.result(), strict=True):
        yield name, path, data, mode


def _read_small(paths: list[str]) -> list[tuple[bytes | None, int]]:
    """Each file's bytes (``None`` when larger than _READ_WHOLE) and normalised mode."""
    out: list[tuple[bytes | None, int]] = []
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            mode = 0o755 if st.st_mode & 0o111 else 0o644
            data = os.read(fd, st.st_size + 1) if st.st_size <= _READ_WHOLE else None
        finally:
            os.close(fd)
        if data is not None and len(data) != st.st_size:
            raise PackagingError(path, "the file changed while it was packaged")
        out.append((data, mode))
    return out


def _stream_large(
    stream: _TarStream, name: str, fh: IO[bytes], size: int, mode: int, path: str
) -> FileRecord:
    stream.entry(name, size, mode)
    digest, done = hashlib.sha256(), 0
    while chunk := fh.read(_FLUSH_AT):
        done += len(chunk)
        if done > size:
            break
        digest.update(chunk)
        stream.add(chunk)
    if done != size:
        raise PackagingError(path, "the file changed while it was packaged")
    stream.pad(size)
    return FileRecord(name, size, digest.hexdigest())


def _header(name: str, size: int, mode: int) -> bytes:
    """The tar header ``tarfile`` writes for a plain file (same bytes, built in one step:
    ``TarInfo.tobuf`` costs more than reading a small file)."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > 100 or not name.isascii() or size >= 8**11:
        return _tarfile_header(name, size, mode)
    head = raw.ljust(100, b"\0") + _FIXED[mode] + b"%011o\0" % size + _MTIME_FIELD
    checksum = _TAIL_SUM + sum(head)
    return head + b"%06o\0 " % checksum + _TAIL


def _tarfile_header(name: str, size: int, mode: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, ENTRY_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _octal(value: int, digits: int) -> bytes:
    return b"%0*o\0" % (digits - 1, value)


_FIXED = {m: _octal(m, 8) + _octal(0, 8) + _octal(0, 8) for m in (0o644, 0o755)}
_MTIME_FIELD = _octal(ENTRY_MTIME, 12)
# type "0", no link name, "ustar\000", no user or group name, no device numbers (tarfile
# leaves them empty for a plain file since Python 3.11.4), no prefix
_TAIL = (b"0" + bytes(100) + tarfile.POSIX_MAGIC + bytes(64 + 16 + 155)).ljust(_BLOCK - 156, b"\0")
_TAIL_SUM = sum(_TAIL) + 8 * 32  # the checksum counts its own field as 8 spaces
