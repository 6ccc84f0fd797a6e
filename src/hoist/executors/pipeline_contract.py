"""What the executor contract needs of a pipeline, so that this layer never imports the
pipelines: :class:`PipelineLike` (``ActionPipeline`` is one) and how a pipeline run
starts, :class:`PipelineOptions`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hoist.plugins.context import RuntimeContext

if TYPE_CHECKING:
    from hoist.executors.base import Executor
    from hoist.executors.handle import RunHandle

__all__ = ["PipelineLike", "PipelineOptions"]


@dataclass(frozen=True)
class PipelineOptions:
    """How a pipeline run starts (see :meth:`Executor.submit_pipeline`)."""

    resume_from: str | None = None
    allow_param_changes: bool = False
    force: bool = False
    parent: RuntimeContext | None = None
    background: bool = True


@runtime_checkable
class PipelineLike(Protocol):
    """What the executor contract needs of a pipeline (``ActionPipeline`` is one)."""

    name: str
    plugin: str | None

    def describe(self) -> dict[str, Any]:
        """The pipeline as JSON-compatible data (enough to rebuild it elsewhere)."""
        ...

    def run_on(
        self, executor: Executor, params: Mapping[str, Any] | None, options: PipelineOptions
    ) -> RunHandle:
        """Record a pipeline run and drive it in this process on ``executor``."""
        ...
