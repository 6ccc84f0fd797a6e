"""``BaseUploadAction`` / ``UploadContext``: files to a storage location, skipping what is
already there by checksum and resuming interrupted transfers.

Destinations are local folders or ``file://`` URLs for now (storage providers come
later: override :meth:`BaseUploadAction.resolve_destination` and
:meth:`BaseUploadAction.transfer` for another store). Each file is written to
``.<name>.hoist-part`` and renamed into place once its SHA-256 matches the source, so
a destination never holds half a file; an interrupted upload leaves the part file,
and the next run continues from its end.

A plugin may only choose the files::

    class Upload(BaseUploadAction[UploadParams]):
        def files(self):
            return sorted(Path(self.params.source).glob("*.pt"))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field

from hoist.errors import UserInputError
from hoist.plugins.action import BaseAction, P
from hoist.plugins.actions.files import CHUNK, sha256_file
from hoist.plugins.actions.results import FileOutcome, UploadResult
from hoist.plugins.categories import PluginCategory
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry

__all__ = ["BaseUploadAction", "UploadContext", "UploadParams", "part_path"]


class UploadParams(BaseModel):
    """The standard params of an upload action; subclass to add your own."""

    source: str | None = Field(None, description="A file or folder to upload")
    destination: str | None = Field(
        None, description="Folder or file:// URL (default: the run's artifacts/uploaded)"
    )
    pattern: str = Field("*", description="Glob of the files in source (** for subfolders)")


@dataclass
class UploadContext(BaseStepContext):
    """State the upload steps share (``self.context`` of a :class:`BaseUploadAction`).

    Attributes:
        source_root: the folder names are relative to.
        destination: the resolved destination folder.
        files: the files to upload, with their SHA-256.
        outcomes: what happened to each file.
    """

    source_root: Path | None = None
    destination: Path | None = None
    files: list[tuple[Path, str]] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)


def part_path(target: Path) -> Path:
    """The partial file an upload to ``target`` writes before renaming."""
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

    def resolve_destination(self) -> Path:
        """The destination folder: the ``destination`` param (a path or ``file://`` URL).

        Raises:
            UserInputError: another URL scheme (only local storage is supported yet).
        """
        dest = getattr(self.params, "destination", None)
        if not dest:
            return self.ctx.artifacts_dir / "uploaded"
        parsed = urlparse(str(dest))
        if parsed.scheme == "file":
            return Path(unquote(parsed.path))
        if parsed.scheme and len(parsed.scheme) > 1:
            raise UserInputError(
                f"destination {dest!r}: scheme '{parsed.scheme}' is not supported yet; "
                "use a local folder or a file:// URL"
            )
        return Path(str(dest))

    def transfer(self, source: Path, part: Path, offset: int) -> int:
        """Append ``source`` from byte ``offset`` to ``part``; return bytes written.
        Checks for cancellation between chunks."""
        written = 0
        with source.open("rb") as src, part.open("ab") as dst:
            src.seek(offset)
            while chunk := src.read(self.chunk_size):
                self.ctx.check_cancelled()
                dst.write(chunk)
                written += len(chunk)
        return written

    @property
    def context(self) -> UploadContext:
        """The typed step context of the running action."""
        if self._context is None:
            raise RuntimeError("the upload context exists only while the action runs")
        return self._context

    # ------------------------------------------------------------------ one file
    def upload_file(self, source: Path, sha256: str, target: Path) -> FileOutcome:
        """Upload one file: skip it when ``target`` has the same SHA-256, continue a
        part file left by an interrupted run, verify, then rename into place."""
        size = source.stat().st_size
        name = str(target.relative_to(self.context.destination)) if self.context.destination \
            else target.name  # fmt: skip
        if target.is_file() and target.stat().st_size == size and sha256_file(target) == sha256:
            return FileOutcome(name=name, status="skipped", size=size, sha256=sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = part_path(target)
        offset = part.stat().st_size if part.is_file() else 0
        if offset > size:
            part.unlink()
            offset = 0
        written = self.transfer(source, part, offset)
        if sha256_file(part) != sha256:  # the part file did not match the source: redo
            part.unlink()
            offset, written = 0, self.transfer(source, part, 0)
            if sha256_file(part) != sha256:
                raise OSError(f"{source}: the uploaded copy's checksum does not match")
        os.replace(part, target)
        status = "resumed" if offset else "uploaded"
        return FileOutcome(name=name, status=status, size=size, sha256=sha256, transferred=written)

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
            destination=str(context.destination),
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
        context.destination.mkdir(parents=True, exist_ok=True)
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
            target = context.destination / path.relative_to(root)
            outcome = self.action.upload_file(path, digest, target)
            context.outcomes.append(outcome)
            self.action.log("upload_file", outcome.model_dump())
            self.action.set_progress(i, total, self.action.progress_category)
            context.set_progress(i, total)
        if not total:
            self.action.log_message("no files matched; nothing to upload", "warning")
