"""Download a URL to a file: resumable (HTTP ``Range``), checksum-verified, with progress.

The bytes go to ``<dest>.part`` first; an interrupted download leaves it there, and the
next attempt (in the same call, or a later one) asks the server for the rest only. The
part becomes ``dest`` only once it is complete and, when a sha256 was given, matches it;
a mismatch removes it. A leaf: it knows URLs and files, not runs (an action reaches it
through ``ctx.download``).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from hoist.errors import (
    ChecksumMismatchError,
    DownloadError,
    StorageError,
    StorageNotFoundError,
    StoragePermissionError,
    StorageUnreachableError,
)
from hoist.storage.entries import Progress
from hoist.storage.secrets import redact_text, redact_url

__all__ = ["DEFAULT_CHUNK_SIZE", "ChecksumMismatchError", "DownloadError", "download"]

DEFAULT_CHUNK_SIZE = 1 << 20
"""Bytes read from the network (and hashed) at a time."""

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    retries: int = 3,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> Path:
    """Download ``url`` (http or https) to ``dest`` and return ``dest``.

    Args:
        url: what to fetch.
        dest: the file to write (its folder is created). When it exists and matches
            ``sha256``, nothing is fetched.
        sha256: the expected hex digest; checked before ``dest`` is written.
        progress: called with (bytes done, total bytes or ``None``) after each chunk.
        resume: continue a ``<dest>.part`` left by an earlier attempt (``False``: start
            afresh). Give ``sha256`` when the file at ``url`` may change between
            attempts: a part continued with other bytes is then caught and removed.
        chunk_size: bytes read at a time.
        retries: how many times a cut-off transfer is resumed within this call.
        timeout: seconds to wait for the server (connect and each read).
        headers: extra request headers (e.g. authorization).

    Raises:
        ChecksumMismatchError: the bytes do not match ``sha256`` (the part is removed).
        StorageUnreachableError: the server cannot be reached.
        StorageNotFoundError, StoragePermissionError, StorageError: the server answers
            404, 401/403 or another error status.
        DownloadError: the transfer was cut off more than ``retries`` times (the part is
            kept for a later call).
    """
    import httpx

    target = Path(dest)
    expected = sha256.lower() if sha256 else None
    if expected and target.is_file() and _sha256_of(target, chunk_size) == expected:
        size = target.stat().st_size
        if progress:
            progress(size, size)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    if not resume:
        part.unlink(missing_ok=True)
    with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
        for attempt in range(retries + 1):
            try:
                _fetch(client, url, part, progress=progress, chunk_size=chunk_size)
                break
            except (httpx.TransportError, _CutOff) as exc:
                if attempt == retries:
                    raise _failure(url, exc, part) from None
            except httpx.HTTPStatusError as exc:
                raise _status_failure(url, exc.response.status_code) from None
    if expected:
        actual = _sha256_of(part, chunk_size)
        if actual != expected:
            part.unlink(missing_ok=True)
            raise ChecksumMismatchError(_safe(url), expected, actual)
    os.replace(part, target)
    return target


class _CutOff(Exception):
    """The server sent fewer bytes than it announced."""


def _fetch(
    client: Any, url: str, part: Path, *, progress: Progress | None, chunk_size: int
) -> None:
    """Fetch the rest of ``url`` into ``part`` (appending when the server honours Range)."""
    import httpx

    have = part.stat().st_size if part.exists() else 0
    request_headers = {"Range": f"bytes={have}-"} if have else {}
    with client.stream("GET", url, headers=request_headers) as response:
        if response.status_code == 416 and have:
            if _complete_size(response) == have:  # the part is already whole
                if progress:
                    progress(have, have)
                return
            part.unlink()  # the part does not fit the file any more: start again
            raise _CutOff("the server's file changed; starting again")
        response.raise_for_status()
        start = _resumed_at(response, have)
        total = _total_size(response, start)
        done = start
        with part.open("r+b" if start else "wb") as out:
            out.truncate(start)
            out.seek(start)
            pending = bytearray()
            try:
                # Pieces as they arrive, written per chunk_size: what came before a cut
                # is kept in the part (iter_bytes(chunk_size) would drop its buffer).
                for piece in response.iter_bytes():
                    pending += piece
                    if len(pending) >= chunk_size:
                        out.write(pending)
                        done += len(pending)
                        pending.clear()
                        if progress:
                            progress(done, total)
            except httpx.TransportError as exc:
                raise _CutOff(f"connection lost after {done + len(pending)} bytes") from exc
            finally:
                out.write(pending)
                done += len(pending)
            if progress and pending:
                progress(done, total)
    if total is not None and done < total:
        raise _CutOff(f"connection closed at {done} of {total} bytes")


def _resumed_at(response: Any, have: int) -> int:
    """Where the body starts: ``have`` for a 206 that continues the part, else 0."""
    if response.status_code != 206:
        return 0
    found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if found is None or int(found.group(1)) != have:
        raise _CutOff("the server answered a range that does not continue the part")
    return have


def _total_size(response: Any, start: int) -> int | None:
    found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
    if found is not None and found.group(3) != "*":
        return int(found.group(3))
    length = response.headers.get("content-length")
    if length is None or response.headers.get("content-encoding"):
        return None
    return start + int(length)


def _complete_size(response: Any) -> int | None:
    found = re.fullmatch(r"bytes \*/(\d+)", response.headers.get("content-range", "").strip())
    return int(found.group(1)) if found else None


def _sha256_of(path: Path, chunk_size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _safe(url: str) -> str:
    """``url`` as errors show it: password and secret-looking query values redacted."""
    return redact_url(url)


def _failure(url: str, exc: BaseException, part: Path) -> StorageError:
    safe = _safe(url)
    kept = f" (partial file kept: {part})" if part.exists() else ""
    if isinstance(exc, _CutOff):
        return DownloadError(f"{exc}{kept}", location=safe, url=safe)
    detail = redact_text(str(exc).replace(url, safe), ()) or type(exc).__name__
    return StorageUnreachableError(f"unreachable: {detail}{kept}", location=safe, url=safe)


def _status_failure(url: str, status: int) -> StorageError:
    safe = _safe(url)
    kinds: dict[int, type[StorageError]] = {
        401: StoragePermissionError,
        403: StoragePermissionError,
        404: StorageNotFoundError,
        410: StorageNotFoundError,
    }
    problem = {401: "not authorised", 403: "forbidden", 404: "not found", 410: "gone"}
    text = f"HTTP {status}" + (f" ({problem[status]})" if status in problem else "")
    return kinds.get(status, StorageError)(text, location=safe, url=safe)
