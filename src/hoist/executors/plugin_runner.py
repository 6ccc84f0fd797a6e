"""``run_plugin``: run one action of a plugin by name, the seed's one-call entry point."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hoist.executors.base import Executor
from hoist.executors.modes import executor_class, resolve_mode
from hoist.executors.plugin_actions import plugin_run_options
from hoist.runs.runtime import get_runtime

__all__ = ["plugin_run_options", "run_plugin"]

_lock = threading.Lock()


class _DefaultExecutors(dict[str, Executor]):
    """``run_plugin``'s warm executor per mode. The process runtime owns them (they
    write to its store), so a new runtime (``configure``, ``reset_runtime``) gets new
    ones; closing forgets them, as a dropped executor is."""

    def close(self) -> None:
        self.clear()


def run_plugin(
    plugin_code: str | Path,
    action: str,
    params: BaseModel | Mapping[str, Any] | None = None,
    mode: str | None = None,
    *,
    executor: Executor | None = None,
    **executor_options: Any,
) -> Any:
    """Run ``action`` of a plugin and return its result (typed when it has a result model).

    Args:
        plugin_code: a plugin folder (or its ``config.yaml``), or an importable module.
        action: the action's name in the plugin.
        params: the action's params (validated against its params model).
        mode: where to run: ``local`` (this process); the Ray extra adds ``task`` and ``job``.
            Default: the action's ``method:`` in ``config.yaml``, else ``local``.
        executor: an executor to use instead of one built for ``mode``.
        **executor_options: passed to the executor built for ``mode`` (e.g. ``env``).

    Raises:
        UnknownModeError: ``mode`` does not exist.
        ServeModeError: the action is declared ``method: serve`` and no mode was given.
        PluginNotFoundError, ActionNotFoundError, ConfigError: the plugin or action is
            wrong.
        ParamsValidationError: naming every failing field (no run is recorded).
        ActionFailedError: the action raised; the run is recorded as ``failed``.
    """
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(plugin_code)
    if executor is not None:
        return executor.execute_prepared(executor.prepare_plugin(plugin, action, params))
    mode = resolve_mode(mode, plugin, action)
    if executor_options:
        # Built for this call: shut down after it (a task executor's warm actor holds
        # its CPUs until then; a loop of such calls must not pile them up).
        with executor_class(mode)(**executor_options) as own:
            return own.execute_prepared(own.prepare_plugin(plugin, action, params))
    shared = _executor(mode)
    return shared.execute_prepared(shared.prepare_plugin(plugin, action, params))


def _executor(mode: str) -> Executor:
    cls = executor_class(mode)
    # Reuse one executor per mode: a warm executor is what makes repeated calls cheap.
    defaults = get_runtime().component(_DefaultExecutors)
    with _lock:
        executor = defaults.get(mode)
        if executor is None:
            executor = defaults[mode] = cls()
        return executor
