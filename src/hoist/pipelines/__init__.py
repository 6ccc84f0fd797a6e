"""Pipelines: chain actions or declare a DAG; checkpoints, resume, retries, progress.

The progress models, the Rich display and the Ray pipeline executor are imported on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr
from hoist.pipelines.nodes import PipelineNode, Resources, RetryPolicy, node
from hoist.pipelines.pipeline import ActionPipeline, PipelineWarning
from hoist.plugins.pipeline_context import PipelineContext

if TYPE_CHECKING:
    from hoist.pipelines.display import display_progress, display_progress_async
    from hoist.pipelines.progress import (
        ActionProgress,
        PipelineProgress,
        pipeline_progress,
        stream_progress,
        stream_progress_async,
    )
    from hoist.pipelines.ray.executor import RayPipelineExecutor

_LAZY = {
    "ActionProgress": "hoist.pipelines.progress",
    "PipelineProgress": "hoist.pipelines.progress",
    "RayPipelineExecutor": "hoist.pipelines.ray.executor",
    "display_progress": "hoist.pipelines.display",
    "display_progress_async": "hoist.pipelines.display",
    "pipeline_progress": "hoist.pipelines.progress",
    "stream_progress": "hoist.pipelines.progress",
    "stream_progress_async": "hoist.pipelines.progress",
}

__all__ = [
    "ActionPipeline",
    "ActionProgress",
    "PipelineContext",
    "PipelineNode",
    "PipelineProgress",
    "PipelineWarning",
    "RayPipelineExecutor",
    "Resources",
    "RetryPolicy",
    "display_progress",
    "display_progress_async",
    "node",
    "pipeline_progress",
    "stream_progress",
    "stream_progress_async",
]


__getattr__ = lazy_getattr("hoist.pipelines", _LAZY, globals())
