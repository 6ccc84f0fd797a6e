"""``BaseUploadAction`` / ``UploadContext``: files to a storage location, skipping what is
already there by checksum and resuming interrupted transfers.

The destination is a storage location (:mod:`hoist.storage`): a configured name
(``models``), a URL (``s3://bucket/prefix``, ``sftp://user@host/path``, ``file://...``)
or a local folder. Each file is written to ``.<name>.hoist-part`` beside its final name
and only then moved into place, so the destination never shows half a file:

- local folders and SFTP: the part file is appended to; an interrupted upload leaves
  it, and the next run continues from its end (the finished part is checked against the
  source's SHA-256 and rewritten if it does not match), then renamed into place;
- S3 and other object stores cannot append: an interrupted file is uploaded again from
  its start, then copied into place on the server (one atomic write of the final name)
  and the part object removed.

A file whose destination has the same size and SHA-256 (:meth:`StorageLocation.checksum
<hoist.storage.StorageLocation.checksum>`, streamed) is skipped. A plugin may only choose
the files::

    class Upload(BaseUploadAction[UploadParams]):
        def files(self):
            return sorted(Path(self.params.source).glob("*.pt"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, Field

from hoist.errors import StorageNotFoundError, UserInputError
from hoist.plugins.action import BaseAction, P
from hoist.plugins.actions.files import CHUNK, sha256_file
from hoist.plugins.actions.results import FileOutcome, UploadResult
from hoist.plugins.categories import PluginCategory
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry

if TYPE_CHECKING:
    from hoist.storage import StorageLocation

__all__ = ["BaseUploadAction", "UploadContext", "UploadParams", "part_name", "part_path"]


class UploadParams(BaseModel):
    """The standard params of an upload action; subclass to add your own."""

    source: str | None = Field(None, description="A file or folder to upload")
    destination: str | None = Field(
        None,
        description="A storage location name, a URL (s3://, sftp://, file://) or a folder "
        "(default: the run's artifacts/uploaded)",
    )
    pattern: str = Field("*", description="Glob of the files in source (** for subfolders)")


@dataclass
class UploadContext(BaseStepContext):
    """State the upload steps share (``self.context`` of a :class:`BaseUploadAction`).

    Attributes:
        source_root: the folder names are relative to.
        destination: the resolved destination location.
        files: the files to upload, with their SHA-256.
        outcomes: what happened to each file.
    """

    source_root: Path | None = None
    destination: StorageLocation | None = None
    files: list[tuple[Path, str]] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)


def part_name(path: str) -> str:
    """The partial file an upload to ``path`` (``/``-separated) writes before moving it."""
    folder, _, name = path.rpartition("/")
    return f"{folder}/.{name}.hoist-part" if folder else f".{name}.hoist-part"


def part_path(target: Path) -> Path:
    """The partial file an upload to the local file ``target`` writes before renaming."""
    return target.with_name(f".{target.name}.hoist-part")


class BaseUploadAction(BaseAction[P]):
    """Base of upload actions; by default uploads ``source`` (matching ``pattern``)."""

    category: ClassVar[PluginCategory | str] = PluginCategory.UPLOAD
    result_model: ClassVar[type[BaseModel] | None] = UploadResult
    progress_category: ClassVar[str] = "upload"
    chunk_size: ClassVar[int] = CHUNK

    _context: UploadContext | None = None

    # ------------------------------------------------------------------ plugin hooks
    def source_root(self) -> Path:
        """The folder (or file) to upload from (the ``source`` param)."""
        source = getattr(self.params, "source", None)
        if not source:
            raise UserInputError("source: give a file or folder to upload")
        path = Path(source)
        if not path.exists():
            raise UserInputError(f"source: {path} does not exist")
        return path

    def files(self) -> list[Path]:
        """The files to upload (default: ``pattern`` in ``source``, sorted)."""
        root = self.context.source_root
        assert root is not None
        if root.is_file():
            return [root]
        pattern = str(getattr(self.params, "pattern", "*"))
        return sorted(p for p in root.glob(pattern) if p.is_file())

    def resolve_destination(self) -> StorageLocation:
        """The destination: the ``destination`` param (a location name, a URL or a
        folder) through :meth:`RuntimeContext.storage
        <hoist.plugins.context.RuntimeContext.storage>`, else the run's
        ``artifacts/uploaded`` folder.

        Raises:
            StorageError: an unknown scheme or a malformed URL.
            StorageLocationNotFoundError: a name the storage config does not have.
        """
        dest = getattr(self.params, "destination", None)
        if not dest:
            return self.ctx.storage(self.ctx.artifacts_dir / "uploaded")
        return self.ctx.storage(str(dest))

    def transfer(self, source: Path, sink: IO[bytes], offset: int) -> int:
        """Write ``source`` from byte ``offset`` to ``sink`` (the open part file); return
        bytes written. Checks for cancellation between chunks."""
        written = 0
        with source.open("rb") as src:
            src.seek(offset)
            while chunk := src.read(self.chunk_size):
                self.ctx.check_cancelled()
                sink.write(chunk)
                written += len(chunk)
        return written

    @property
    def context(self) -> UploadContext:
        """The typed step context of the running action."""
        if self._context is None:
            raise RuntimeError("the upload context exists only while the action runs")
        return self._context

    # ------------------------------------------------------------------ one file
    def upload_file(self, source: Path, sha256: str, name: str) -> FileOutcome:
        """Upload one file to ``name`` below the destination: skip it when the same
        SHA-256 is there, continue a part file left by an interrupted run (where the
        storage can append), verify, then move it into place."""
        dest = self.context.destination
        assert dest is not None
        size = source.stat().st_size
        if _same_file(dest, name, size, sha256):
            return FileOutcome(name=name, status="skipped", size=size, sha256=sha256)
        part = _PartFile(dest, name)
        offset = part.resumable_size(size)
        written = self._write_part(source, part, offset)
        if offset and dest.checksum(part.path) != sha256:  # the old part did not match
            offset, written = 0, self._write_part(source, part, 0)
            if dest.checksum(part.path) != sha256:
                raise OSError(f"{source}: the uploaded copy's checksum does not match")
        part.move_into_place()
        status = "resumed" if offset else "uploaded"
        return FileOutcome(name=name, status=status, size=size, sha256=sha256, transferred=written)

    def _write_part(self, source: Path, part: _PartFile, offset: int) -> int:
        with part.open(append=offset > 0) as sink:
            return self.transfer(source, sink, offset)

    # ------------------------------------------------------------------ steps
    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register ``collect`` and ``upload`` (replace or extend them)."""
        registry.register(CollectFilesStep(self))
        registry.register(UploadFilesStep(self))

    def create_context(self) -> UploadContext:
        """A fresh :class:`UploadContext` (also ``self.context`` while running)."""
        self._context = UploadContext(runtime_ctx=self.ctx, params=self.params)
        return self._context

    def step_result(self, context: BaseStepContext) -> UploadResult:
        """The :class:`UploadResult` of the finished steps."""
        assert isinstance(context, UploadContext)
        count = {s: sum(o.status == s for o in context.outcomes)
                 for s in ("uploaded", "skipped", "resumed")}  # fmt: skip
        return UploadResult(
            destination=context.destination.url if context.destination else "",
            uploaded=count["uploaded"], skipped=count["skipped"], resumed=count["resumed"],
            bytes=sum(o.transferred for o in context.outcomes),
            files=context.outcomes,
        )  # fmt: skip


class _UploadStep(BaseStep[UploadContext]):
    def __init__(self, action: BaseUploadAction[Any]) -> None:
        self.action = action


class CollectFilesStep(_UploadStep):
    """Resolve source and destination, list the files and checksum them."""

    name = "collect"
    progress_weight = 1.0

    def execute(self, context: UploadContext) -> None:
        context.source_root = self.action.source_root()
        context.destination = self.action.resolve_destination()
        files = self.action.files()
        for i, path in enumerate(files, start=1):
            context.files.append((path, sha256_file(path)))
            context.set_progress(i, len(files))


class UploadFilesStep(_UploadStep):
    """Upload each file, with progress per file (category ``upload``)."""

    name = "upload"
    progress_weight = 9.0

    def execute(self, context: UploadContext) -> None:
        assert context.destination is not None and context.source_root is not None
        root = context.source_root if context.source_root.is_dir() else context.source_root.parent
        total = len(context.files)
        for i, (path, digest) in enumerate(context.files, start=1):
            name = path.relative_to(root).as_posix()
            outcome = self.action.upload_file(path, digest, name)
            context.outcomes.append(outcome)
            self.action.log("upload_file", outcome.model_dump())
            self.action.set_progress(i, total, self.action.progress_category)
            context.set_progress(i, total)
        if not total:
            self.action.log_message("no files matched; nothing to upload", "warning")


def _same_file(dest: StorageLocation, name: str, size: int, sha256: str) -> bool:
    """Whether ``name`` is there with this size and SHA-256 (size first: cheap)."""
    try:
        entry = dest.info(name)
    except StorageNotFoundError as exc:
        if exc.problem != "not found":
            raise
        return False
    return not entry.is_dir and entry.size == size and dest.checksum(name) == sha256


class _PartFile:
    """The part file of one upload, on storage that can append (local, SFTP: an
    interrupted upload continues it) or not (object stores: written whole)."""

    def __init__(self, dest: StorageLocation, name: str) -> None:
        self.dest, self.name, self.path = dest, name, part_name(name)
        self.appends = dest.appendable

    def resumable_size(self, size: int) -> int:
        """Bytes already in the part file that a resumed upload keeps (0: start over)."""
        if not self.appends:
            return 0
        try:
            done = self.dest.info(self.path).size or 0
        except StorageNotFoundError as exc:
            if exc.problem != "not found":
                raise
            return 0
        return done if done <= size else 0

    def open(self, *, append: bool) -> IO[bytes]:
        """The part file, to append to or to write from its start."""
        return self.dest.open(self.path, "ab" if append and self.appends else "wb")

    def move_into_place(self) -> None:
        """Give the part file its final name (a rename, or a server-side copy)."""
        self.dest.move(self.path, self.name)
