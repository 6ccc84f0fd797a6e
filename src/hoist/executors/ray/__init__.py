"""Ray executors (the ``ray`` extra): warm actors (``mode='task'``) and Ray Jobs
(``mode='job'``). Whole pipelines on Ray: :mod:`hoist.pipelines.ray`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr

if TYPE_CHECKING:
    from hoist.executors.ray.cluster import LocalRayCluster
    from hoist.executors.ray.job import RayJobExecutor
    from hoist.executors.ray.task import RayActorExecutor

__all__ = ["LocalRayCluster", "RayActorExecutor", "RayJobExecutor"]

_LAZY = {
    "LocalRayCluster": "hoist.executors.ray.cluster",
    "RayActorExecutor": "hoist.executors.ray.task",
    "RayJobExecutor": "hoist.executors.ray.job",
}


__getattr__ = lazy_getattr("hoist.executors.ray", _LAZY, globals())
