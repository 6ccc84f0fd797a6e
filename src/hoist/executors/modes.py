"""Execution modes by name (``run_plugin(..., mode=...)``, ``hoist run --mode``).

Backends are named by import path and imported on first use, so asking for ``local``
never imports Ray.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from hoist.errors import UnknownModeError

if TYPE_CHECKING:
    from hoist.executors.base import Executor

__all__ = ["EXECUTOR_MODES", "executor_class"]

EXECUTOR_MODES: dict[str, str] = {
    "local": "hoist.executors.local:LocalExecutor",
    "task": "hoist.executors.ray.task:RayActorExecutor",
    "job": "hoist.executors.ray.job:RayJobExecutor",
}
"""Mode name to ``module:Class`` of its executor."""


def executor_class(mode: str) -> type[Executor]:
    """The executor class for ``mode``.

    Raises:
        UnknownModeError: no such mode (the message lists the modes that exist).
    """
    try:
        target = EXECUTOR_MODES[mode]
    except KeyError:
        raise UnknownModeError(mode, EXECUTOR_MODES) from None
    module, _, attr = target.partition(":")
    cls: type[Executor] = getattr(importlib.import_module(module), attr)
    return cls
