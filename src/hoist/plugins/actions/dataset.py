"""``DatasetAction`` / ``DatasetContext``: fetch, validate and convert a dataset.

A plugin overrides what its data needs::

    class Fetch(DatasetAction[DatasetParams]):
        def fetch(self, dest):                # put the dataset's files under dest
            ...
        def validate(self, path):             # problems found ("file:line: rule")
            return []
        def convert(self, path, to):          # write `to` format; return its folder
            ...

Default steps: ``fetch`` copies ``source`` (a file or folder) into ``path`` (default:
the run's ``artifacts/dataset``); ``validate`` reports empty datasets and whatever
:meth:`DatasetAction.validate` finds (failing the run when ``strict``); ``convert`` runs
only when ``convert_to`` is set, through :meth:`DatasetAction.convert`. By default
``validate`` and ``convert`` are `hoist.datasets`' (yolo, coco, voc, native); a plugin
overrides them for formats of its own.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from hoist.datasets.ref import DatasetRef
from hoist.errors import UserInputError
from hoist.plugins.action import BaseAction, P
from hoist.plugins.actions.results import DatasetResult
from hoist.plugins.categories import PluginCategory
from hoist.plugins.steps.base import BaseStep, StepResult
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry
from hoist.plugins.types import Dataset

__all__ = ["DatasetAction", "DatasetContext", "DatasetParams"]


class DatasetParams(BaseModel):
    """The standard params of a dataset action; subclass to add your own."""

    source: str | None = Field(None, description="Where to fetch from (file or folder)")
    path: str | None = Field(None, description="Dataset folder (default: artifacts/dataset)")
    format: str | None = Field(None, description="The dataset's format, when known")
    convert_to: str | None = Field(None, description="Convert to this format")
    strict: bool = Field(True, description="Fail the run when validation finds problems")


@dataclass
class DatasetContext(BaseStepContext):
    """State the dataset steps share (``self.context`` of a :class:`DatasetAction`)."""

    path: Path | None = None
    format: str | None = None
    errors: list[str] = field(default_factory=list)
    converted_path: Path | None = None
    converted_to: str | None = None


class DatasetAction(BaseAction[P]):
    """Base of dataset actions (fetch → validate → convert)."""

    category: ClassVar[PluginCategory | str] = PluginCategory.DATA_VALIDATION
    result_model: ClassVar[type[BaseModel] | None] = DatasetResult
    output_type = Dataset
    progress_category: ClassVar[str] = "dataset"

    _context: DatasetContext | None = None

    # ------------------------------------------------------------------ plugin hooks
    def fetch(self, dest: Path) -> None:
        """Put the dataset under ``dest`` (default: copy the ``source`` file or folder)."""
        source = getattr(self.params, "source", None)
        if not source:
            if any(dest.iterdir()):
                return  # already there (e.g. a dataset folder given as ``path``)
            raise UserInputError("source: give a file or folder to fetch the dataset from")
        src = Path(source)
        if not src.exists():
            raise UserInputError(f"source: {src} does not exist")
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for i, file in enumerate(files, start=1):
            target = dest / (file.name if src.is_file() else file.relative_to(src))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
            self.set_progress(i, len(files), self.progress_category)
            self.context.set_progress(i, len(files))

    def validate(self, path: Path) -> list[str]:
        """Problems found in the dataset at ``path`` (each naming the file and rule): by
        default `hoist.datasets.validate` when ``path`` holds a format it knows (yolo,
        coco, voc, native; the ``format`` param when given), else none."""
        from hoist import datasets
        from hoist.errors import DatasetConversionError

        given = getattr(self.params, "format", None)
        if given is not None and given not in datasets.FORMATS:
            return []  # a format of the plugin's own: its validate() knows it
        try:
            report = datasets.validate(path, given)
        except DatasetConversionError:
            return []  # not a format hoist.datasets reads
        return [str(issue) for issue in report.issues]

    def convert(self, path: Path, to: str) -> Path:
        """Convert the dataset at ``path`` to format ``to``; return the new folder
        (``<path>-<to>`` beside it). By default `hoist.datasets.convert` (lossless only)."""
        from hoist import datasets

        if to not in datasets.FORMATS:
            raise NotImplementedError(
                f"convert_to={to!r}: not a format hoist.datasets writes "
                f"({', '.join(sorted(datasets.FORMATS))}); {type(self).__qualname__} does not "
                "implement convert(path, to) for it"
            )
        given = getattr(self.params, "format", None)
        dest = path.parent / f"{path.name}-{to}"
        datasets.convert(path, to=to, dest=dest,
                         source_format=given if given in datasets.FORMATS else None)  # fmt: skip
        return dest

    @property
    def context(self) -> DatasetContext:
        """The typed step context of the running action."""
        if self._context is None:
            raise RuntimeError("the dataset context exists only while the action runs")
        return self._context

    # ------------------------------------------------------------------ steps
    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register ``fetch``, ``validate`` and ``convert`` (replace or extend them)."""
        registry.register(FetchStep(self))
        registry.register(ValidateStep(self))
        registry.register(ConvertStep(self))

    def create_context(self) -> DatasetContext:
        """A fresh :class:`DatasetContext` (also ``self.context`` while running)."""
        path = getattr(self.params, "path", None)
        self._context = DatasetContext(
            runtime_ctx=self.ctx, params=self.params,
            path=Path(path) if path else self.ctx.artifacts_dir / "dataset",
            format=getattr(self.params, "format", None),
        )  # fmt: skip
        return self._context

    def step_result(self, context: BaseStepContext) -> DatasetResult:
        """The :class:`DatasetResult` of the finished steps."""
        assert isinstance(context, DatasetContext) and context.path is not None
        final = context.converted_path or context.path
        files = [p for p in final.rglob("*") if p.is_file()]
        fmt = context.converted_to or context.format
        return DatasetResult(
            path=str(final), format=fmt, files=len(files),
            bytes=sum(p.stat().st_size for p in files), errors=list(context.errors),
            converted_to=context.converted_to, dataset=_ref_to(final, fmt),
        )  # fmt: skip


def _ref_to(path: Path, fmt: str | None) -> DatasetRef | None:
    """The final dataset as a :class:`DatasetRef`; None for a format of the plugin's own."""
    from hoist.datasets import FORMATS
    from hoist.errors import DatasetConversionError

    if fmt is not None:
        return DatasetRef(path=str(path), format=fmt) if fmt.lower() in FORMATS else None
    try:
        return DatasetRef.at(path)
    except DatasetConversionError:
        return None


class _DatasetStep(BaseStep[DatasetContext]):
    def __init__(self, action: DatasetAction[Any]) -> None:
        self.action = action


class FetchStep(_DatasetStep):
    """Fetch the dataset into its folder (:meth:`DatasetAction.fetch`)."""

    name = "fetch"
    progress_weight = 4.0

    def execute(self, context: DatasetContext) -> None:
        assert context.path is not None
        context.path.mkdir(parents=True, exist_ok=True)
        self.action.fetch(context.path)


class ValidateStep(_DatasetStep):
    """Check the dataset (:meth:`DatasetAction.validate`); fail when ``strict``."""

    name = "validate"
    progress_weight = 2.0

    def execute(self, context: DatasetContext) -> StepResult:
        assert context.path is not None
        errors = [] if any(context.path.rglob("*")) else [f"{context.path}: the dataset is empty"]
        errors += list(self.action.validate(context.path))
        context.errors = errors
        self.action.set_metrics({"errors": len(errors)}, category=self.action.progress_category)
        for line in errors[:20]:
            self.action.log_message(line, "warning")
        if errors and getattr(self.action.params, "strict", True):
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return StepResult(success=False, error=f"{errors[0]}{more}")
        return StepResult(data={"errors": errors})


class ConvertStep(_DatasetStep):
    """Convert to ``convert_to`` (:meth:`DatasetAction.convert`); skipped when unset."""

    name = "convert"
    progress_weight = 4.0

    def can_skip(self, context: DatasetContext) -> bool:
        return not getattr(self.action.params, "convert_to", None)

    def execute(self, context: DatasetContext) -> None:
        assert context.path is not None
        to = str(self.action.params.convert_to)
        context.converted_path = Path(self.action.convert(context.path, to))
        context.converted_to = to
