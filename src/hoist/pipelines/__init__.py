"""Pipelines: chain actions or declare a DAG; checkpoints, resume, retries, progress."""

from hoist.pipelines.context import PipelineContext
from hoist.pipelines.nodes import PipelineNode, Resources, RetryPolicy, node
from hoist.pipelines.pipeline import ActionPipeline, PipelineWarning

__all__ = [
    "ActionPipeline",
    "PipelineContext",
    "PipelineNode",
    "PipelineWarning",
    "Resources",
    "RetryPolicy",
    "node",
]
