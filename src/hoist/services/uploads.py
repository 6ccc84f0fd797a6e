"""Uploads of an enter form's ``F.InputFiles`` fields: a ``multipart/form-data`` body
streamed to disk (never whole in memory), size-limited per file and in total, then moved
into the run's ``in/`` folder when the launch has a run id.

The body is parsed as it arrives (python-multipart): each file part is written to a
staging folder beside the runs' folders (``runs_dir/.uploads/``, so moving it into a run
is a rename), and a file or the request over its limit stops the read at once
(:class:`~hoist.errors.UploadTooLargeError`, HTTP 413). The validated inputs then hold
:class:`StagedUpload` objects; :func:`place_uploads` moves them into ``in/`` under their
sanitised names (:func:`safe_name`, collisions numbered) and puts their paths relative to
the run's folder (``in/<name>``) in their place. What no launch took is removed when the
request ends (:func:`discard_uploads`).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from starlette.datastructures import FormData

from hoist import forms as F
from hoist.errors import UploadTooLargeError

__all__ = [
    "DEFAULT_MAX_UPLOAD_BYTES",
    "IN_DIR",
    "StagedUpload",
    "UploadLimits",
    "discard_uploads",
    "place_uploads",
    "read_multipart",
    "safe_name",
]

#: The largest file an upload field accepts unless the app says otherwise (100 MiB).
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
#: The run's folder for its inputs (uploads land here).
IN_DIR = "in"

_MAX_FIELD = 1024 * 1024  # a text field of a form post
_MAX_PARTS = 1000
_MAX_NAME = 200  # bytes of a file name (file systems allow 255)
_STATE = "hoist_uploads"


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How much a request may upload.

    Attributes:
        max_file: the largest file, in bytes.
        max_total: the most bytes of files in one request.
        staging: the folder uploads are staged in (set per request by the app: the
            runtime's ``runs_dir``).
    """

    max_file: int
    max_total: int
    staging: Path | None = None

    def __post_init__(self) -> None:
        if self.max_file < 1 or self.max_total < 1:
            raise ValueError("upload limits must be at least 1 byte")


@dataclass(slots=True)
class StagedUpload:
    """An uploaded file, on disk, until the launch moves it into the run's ``in/``.

    Attributes:
        filename: its sanitised name (``""`` for the empty part of a file input left
            empty, which the form ignores).
        path: where it is staged.
        size: its size in bytes.
        content_type: what the client said it is.
    """

    filename: str
    path: Path
    size: int = 0
    content_type: str | None = None

    def open(self) -> IO[bytes]:
        """The staged file, open for reading."""
        return self.path.open("rb")


def safe_name(name: str) -> str:
    """A file name that stays in its folder: the last part of any path (``/`` or ``\\``),
    without control characters, leading dots or spaces, at most 200 bytes (the suffix
    kept); ``"upload"`` when nothing is left."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/")
    name = name.rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").rstrip(". ")
    if len(name.encode()) > _MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        suffix = suffix if dot and 0 < len(suffix.encode()) <= 16 else ""
        room = _MAX_NAME - len(suffix.encode()) - (1 if suffix else 0)
        stem = (stem if suffix else name).encode()[:room].decode(errors="ignore")
        name = f"{stem}.{suffix}" if suffix else stem
    return name or "upload"


async def read_multipart(request: Any, limits: UploadLimits) -> FormData:
    """Read a ``multipart/form-data`` body: text fields as strings, files staged on disk
    as :class:`StagedUpload`, written as the body arrives.

    Raises:
        UploadTooLargeError: a file, or the files together, exceed ``limits`` (also
            when the declared ``Content-Length`` does, before anything is read).
        InputsError: the body is not valid multipart data.
    """
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise F.InputsError("the multipart body has no boundary")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_total + _MAX_PARTS * 512 + _MAX_FIELD:
        raise UploadTooLargeError(None, limits.max_total)
    root = (limits.staging or Path(tempfile.gettempdir())) / ".uploads"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    setattr(request.state, _STATE, folder)
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        charset = "utf-8"
    reader = _Reader(folder, limits, charset)
    parser = MultipartParser(boundary, reader.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await reader.flush()
        parser.finalize()
        await reader.flush()
    except FormParserError:
        raise F.InputsError("the multipart body is not valid") from None
    finally:
        reader.close()
    return FormData(reader.items)


def place_uploads(inputs: Any, run_dir: Path) -> Any:
    """``inputs`` with every :class:`StagedUpload` (at any depth of dicts and lists)
    moved into ``run_dir/in/`` and replaced by its path relative to ``run_dir``
    (``in/<name>``); names already taken get `` (1)``, `` (2)``... before the suffix."""
    taken: set[str] = set()

    def place(value: Any) -> Any:
        if isinstance(value, StagedUpload):
            folder = run_dir / IN_DIR
            folder.mkdir(parents=True, exist_ok=True)
            name = _free_name(folder, value.filename or "upload", taken)
            taken.add(name)
            os.replace(value.path, folder / name)
            return f"{IN_DIR}/{name}"
        if isinstance(value, Mapping):
            return {k: place(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [place(v) for v in value]
        return value

    return place(inputs)


def discard_uploads(request: Any) -> None:
    """Remove what ``request`` staged and no launch moved into a run."""
    folder = getattr(request.state, _STATE, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _free_name(folder: Path, name: str, taken: set[str]) -> str:
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    candidate, n = name, 0
    while candidate in taken or (folder / candidate).exists():
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    return candidate


@dataclass
class _Part:
    name: str = ""
    disposition: bytes = b""
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)
    upload: StagedUpload | None = None
    file: IO[bytes] | None = None


class _Reader:
    """python-multipart's callbacks: fields kept, files counted and queued for writing
    (written off the loop by :meth:`flush`)."""

    def __init__(self, folder: Path, limits: UploadLimits, charset: str) -> None:
        self.folder, self.limits, self.charset = folder, limits, charset
        self.items: list[tuple[str, str | Any]] = []
        self.part = _Part()
        self.total = 0
        self.parts = 0
        self.header = [b"", b""]
        self.pending: list[tuple[IO[bytes], bytes | None]] = []
        self.files: list[IO[bytes]] = []

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": lambda d, s, e: self._add_header(0, d[s:e]),
            "on_header_value": lambda d, s, e: self._add_header(1, d[s:e]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def _add_header(self, i: int, data: bytes) -> None:
        self.header[i] += data
        if len(self.header[i]) > 16 * 1024:
            raise F.InputsError("a multipart header is too long")

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > _MAX_PARTS:
            raise F.InputsError(f"a form post may have at most {_MAX_PARTS} parts")
        self.part = _Part()

    def on_header_end(self) -> None:
        name, value = self.header[0].lower(), self.header[1]
        if name == b"content-disposition":
            self.part.disposition = value
        elif name == b"content-type":
            self.part.content_type = value.decode("latin-1")
        self.header = [b"", b""]

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self.part.disposition)
        if b"name" not in options:
            raise F.InputsError("a multipart part has no name")
        self.part.name = self._text(options[b"name"])
        if b"filename" in options:
            given = self._text(options[b"filename"])
            path = self.folder / str(len(self.files))
            handle = path.open("xb")
            self.files.append(handle)
            self.part.file = handle
            self.part.upload = StagedUpload(
                filename=safe_name(given) if given else "",
                path=path,
                content_type=self.part.content_type,
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        upload = self.part.upload
        if upload is None:
            if len(self.part.data) + len(chunk) > _MAX_FIELD:
                raise F.InputsError(f"the field {self.part.name!r} is longer than 1 MiB")
            self.part.data.extend(chunk)
            return
        upload.size += len(chunk)
        self.total += len(chunk)
        # Counted as it arrives: an over-size upload stops the read, unwritten.
        if upload.size > self.limits.max_file:
            raise UploadTooLargeError(upload.filename or self.part.name, self.limits.max_file)
        if self.total > self.limits.max_total:
            raise UploadTooLargeError(None, self.limits.max_total)
        assert self.part.file is not None
        self.pending.append((self.part.file, chunk))

    def on_part_end(self) -> None:
        if self.part.upload is None:
            self.items.append((self.part.name, self._text(bytes(self.part.data))))
        else:
            self.items.append((self.part.name, self.part.upload))
            assert self.part.file is not None
            self.pending.append((self.part.file, None))  # closed once written

    async def flush(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, []
            await asyncio.to_thread(_write_all, pending)

    def close(self) -> None:
        for handle in self.files:
            handle.close()

    def _text(self, raw: bytes) -> str:
        return raw.decode(self.charset, errors="replace")


def _write_all(pending: list[tuple[IO[bytes], bytes | None]]) -> None:
    for handle, chunk in pending:
        if chunk is None:
            handle.close()
        else:
            handle.write(chunk)
