"""Execution modes by name (``run_plugin(..., mode=...)``, ``hoist run --mode``).

Backends are named by import path and imported on first use, so asking for ``local``
never imports Ray.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hoist._entrypoints import resolve_entrypoint
from hoist.errors import ServeModeError, UnknownModeError

if TYPE_CHECKING:
    from hoist.executors.base import Executor

__all__ = ["DEFAULT_MODE", "EXECUTOR_MODES", "executor_class", "resolve_mode"]

DEFAULT_MODE = "local"
"""The mode used when neither the caller nor the action's ``method:`` names one."""

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
    cls: type[Executor] = resolve_entrypoint(target)
    return cls


def resolve_mode(mode: str | None, plugin: Any = None, action: str | None = None) -> str:
    """The mode to run ``action`` of ``plugin`` in: ``mode`` when given, else the action's
    ``method:`` in ``config.yaml``, else :data:`DEFAULT_MODE`.

    Raises:
        ServeModeError: the resolved mode is ``serve`` for an action that does not deploy
            itself (only a ``BaseDeploymentAction`` does: it runs in the default mode).
        UnknownModeError: the resolved mode does not exist.
    """
    if mode is None and plugin is not None and action is not None:
        config = getattr(plugin, "config", None)
        entry = config.actions.get(action) if config is not None else None
        mode = getattr(entry, "method", None)
    mode = mode or DEFAULT_MODE
    if mode == "serve":
        if _deploys_itself(plugin, action):
            return DEFAULT_MODE  # its run deploys it (a BaseDeploymentAction)
        raise ServeModeError(action or "?", getattr(plugin, "code", None))
    if mode not in EXECUTOR_MODES:
        raise UnknownModeError(mode, EXECUTOR_MODES)
    return mode


def _deploys_itself(plugin: Any, action: str | None) -> bool:
    """Whether ``action`` of ``plugin`` is an action whose run deploys it."""
    load = getattr(plugin, "load_action", None)
    if load is None or action is None:
        return False
    return bool(getattr(load(action), "deploys_itself", False))
