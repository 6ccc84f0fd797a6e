"""Ray executors (the ``ray`` extra): warm actors (``mode='task'``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hoist.executors.ray.cluster import LocalRayCluster
    from hoist.executors.ray.task import RayActorExecutor

__all__ = ["LocalRayCluster", "RayActorExecutor"]

_LAZY = {
    "LocalRayCluster": "hoist.executors.ray.cluster",
    "RayActorExecutor": "hoist.executors.ray.task",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hoist.executors.ray' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
