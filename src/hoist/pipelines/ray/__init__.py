"""Pipelines on Ray (the ``ray`` extra): :class:`RayPipelineExecutor` drives whole
pipelines in warm actors. Imported on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr

if TYPE_CHECKING:
    from hoist.pipelines.ray.executor import RayPipelineExecutor

__all__ = ["RayPipelineExecutor"]

__getattr__ = lazy_getattr("hoist.pipelines.ray", {"RayPipelineExecutor":
                           "hoist.pipelines.ray.executor"}, globals())  # fmt: skip
