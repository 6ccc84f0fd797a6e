"""``BaseExportAction`` / ``ExportContext``: write one file, record it with its checksum.

A plugin writes::

    class Export(BaseExportAction[ExportParams]):
        export_format = "csv"

        def export(self, path):               # write the file; return how many records
            rows = self.params.records
            for row in self.track(rows):     # progress per record (category "export")
                ...
            return len(rows)

Steps ``prepare`` (resolve the output path), ``export`` and ``finalize`` (SHA-256,
artifact event) give an :class:`~hoist.plugins.actions.results.ExportResult`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field

from hoist.plugins.action import BaseAction, P
from hoist.plugins.actions.files import sha256_file
from hoist.plugins.actions.results import ExportResult
from hoist.plugins.categories import PluginCategory
from hoist.plugins.steps.base import BaseStep
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry

__all__ = ["BaseExportAction", "ExportContext", "ExportParams"]

T = TypeVar("T")


class ExportParams(BaseModel):
    """The standard params of an export action; subclass to add your own."""

    output_dir: str | None = Field(None, description="Folder to write to (default: artifacts)")
    filename: str | None = Field(
        None, pattern=r"^[\w.-]+$", description="File name (default: the action's)"
    )


@dataclass
class ExportContext(BaseStepContext):
    """State the export steps share (``self.context`` of a :class:`BaseExportAction`)."""

    path: Path | None = None
    records: int | None = None
    sha256: str | None = None


class BaseExportAction(BaseAction[P]):
    """Base of export actions: implement :meth:`export`.

    Class attributes:
        export_format: the format's name (also the default file suffix).
        default_filename: the file name when the params give none
            (default ``<action_name>.<export_format>``).
    """

    category: ClassVar[PluginCategory | str] = PluginCategory.EXPORT
    result_model: ClassVar[type[BaseModel] | None] = ExportResult
    export_format: ClassVar[str] = "bin"
    default_filename: ClassVar[str | None] = None
    progress_category: ClassVar[str] = "export"

    _context: ExportContext | None = None

    def export(self, path: Path) -> int | None:
        """Write the export to ``path``; return the number of records (or ``None``)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement export(path)")

    @property
    def context(self) -> ExportContext:
        """The typed step context of the running action."""
        if self._context is None:
            raise RuntimeError("the export context exists only while the action runs")
        return self._context

    def output_path(self) -> Path:
        """Where the file goes: ``output_dir`` (default: the run's artifacts) / file name."""
        folder = getattr(self.params, "output_dir", None)
        name = getattr(self.params, "filename", None) or self.default_filename
        name = name or f"{self.action_name}.{self.export_format}"
        return (Path(folder) if folder else self.ctx.artifacts_dir) / name

    def track(self, items: Iterable[T], total: int | None = None) -> Iterator[T]:
        """Yield ``items`` reporting progress per item (category ``export``)."""
        if total is None and isinstance(items, Sequence):
            total = len(items)
        for i, item in enumerate(items, start=1):
            yield item
            if total:
                self.set_progress(i, total, self.progress_category)
                if self._context is not None:
                    self._context.set_progress(i, total)

    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register ``prepare``, ``export`` and ``finalize`` (replace or extend them)."""
        registry.register(PrepareExportStep(self))
        registry.register(ExportStep(self))
        registry.register(FinalizeExportStep(self))

    def create_context(self) -> ExportContext:
        """A fresh :class:`ExportContext` (also ``self.context`` while running)."""
        self._context = ExportContext(runtime_ctx=self.ctx, params=self.params)
        return self._context

    def step_result(self, context: BaseStepContext) -> ExportResult:
        """The :class:`ExportResult` of the finished steps."""
        assert isinstance(context, ExportContext)
        if context.path is None or context.sha256 is None:
            raise RuntimeError("nothing was exported (the finalize step did not run)")
        return ExportResult(path=str(context.path), sha256=context.sha256,
                            size=context.path.stat().st_size, format=self.export_format,
                            records=context.records)  # fmt: skip


class _ExportStep(BaseStep[ExportContext]):
    def __init__(self, action: BaseExportAction[Any]) -> None:
        self.action = action


class PrepareExportStep(_ExportStep):
    """Resolve the output path and create its folder."""

    name = "prepare"
    progress_weight = 0.5

    def execute(self, context: ExportContext) -> None:
        context.path = self.action.output_path()
        context.path.parent.mkdir(parents=True, exist_ok=True)


class ExportStep(_ExportStep):
    """Write the file (:meth:`BaseExportAction.export`)."""

    name = "export"
    progress_weight = 8.0

    def execute(self, context: ExportContext) -> None:
        assert context.path is not None
        context.records = self.action.export(context.path)
        if not context.path.is_file():
            raise FileNotFoundError(f"export() did not write {context.path}")

    def rollback(self, context: ExportContext, result: Any) -> None:
        if context.path is not None:
            context.path.unlink(missing_ok=True)


class FinalizeExportStep(_ExportStep):
    """Checksum the file and record it as an artifact."""

    name = "finalize"
    progress_weight = 0.5

    def execute(self, context: ExportContext) -> None:
        assert context.path is not None
        context.sha256 = sha256_file(context.path)
        self.action.ctx.add_artifact(context.path)
