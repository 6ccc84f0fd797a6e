"""The plugins a server offers: those found under the configured plugin folders, and
those installed packages declare (entry points in the ``hoist.plugins`` group).

Only these can be launched or resumed through the API (a request, or a stored run it
names, cannot make the server import an arbitrary module: resume looks actions up here by
plugin code and action name, see :func:`~hoist.pipelines.rebuild.pipeline_from_catalog`).
Discovery is re-run at most every ``ttl`` seconds; the process's plugin registry
(:func:`~hoist.plugins.discovery.plugin_registry`) reloads a plugin whose files changed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from hoist.errors import HoistError, PluginNotFoundError
from hoist.plugins.discovery import DiscoveryResult, PluginDefinition, discover_plugins

__all__ = ["PluginCatalog", "describe_action", "describe_plugin"]


class PluginCatalog:
    """Plugins by code.

    Args:
        paths: folders to search (each, and two levels below it); empty: the current folder.
            Installed plugins (entry points) are offered besides.
        ttl: seconds a discovery result is reused.
    """

    def __init__(self, paths: tuple[Path, ...] = (), *, ttl: float = 5.0) -> None:
        self.paths = paths
        self.ttl = ttl
        self._found: DiscoveryResult | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def plugins(self) -> list[PluginDefinition]:
        """Every plugin found, by code."""
        return sorted(self._discover(), key=lambda p: p.code)

    def errors(self) -> list[str]:
        """Messages of the broken plugins found (file, line and key named)."""
        return [e.message for e in self._discover().errors]

    def get(self, code: str) -> PluginDefinition:
        """The plugin with this code.

        Raises:
            PluginNotFoundError: none (with the codes that exist and the nearest).
        """
        found = self._discover()
        for plugin in found:
            if plugin.code == code:
                return plugin
        raise PluginNotFoundError(code, [p.code for p in found])

    def _discover(self) -> DiscoveryResult:
        with self._lock:
            if self._found is None or time.monotonic() - self._at > self.ttl:
                self._found = discover_plugins(*self.paths)
                self._at = time.monotonic()
            return self._found


def describe_action(plugin: PluginDefinition, name: str) -> dict[str, Any]:
    """An action's description with the JSON schemas of its params and result."""
    cfg = plugin.action_config(name)
    cls = plugin.load_action(name)
    result_model = cls.result_model
    return {
        "name": name,
        "title": cfg.name or name,
        "description": cfg.description or cls.description or "",
        "entrypoint": cfg.entrypoint,
        "method": cfg.method,
        "input_type": cfg.input_type,
        "output_type": cfg.output_type,
        "params_schema": cls.params_model.model_json_schema(),
        "result_schema": None if result_model is None else result_model.model_json_schema(),
    }


def describe_plugin(plugin: PluginDefinition, *, actions: bool = False) -> dict[str, Any]:
    """A plugin's summary; with ``actions``, each action described in full."""
    cfg = plugin.config
    pipelines = cfg.pipelines or {}
    return {
        "code": cfg.code,
        "name": cfg.name,
        "version": cfg.version,
        "category": str(cfg.category),
        "description": cfg.description,
        "tags": list(cfg.tags),
        "distribution": None if plugin.distribution is None else str(plugin.distribution),
        "action_names": plugin.action_names(),
        "actions": [_safe_describe(plugin, n) for n in plugin.action_names()] if actions else [],
        "pipelines": [
            {"name": name, "description": str((spec or {}).get("description", ""))}
            for name, spec in pipelines.items()
        ],
    }


def _safe_describe(plugin: PluginDefinition, name: str) -> dict[str, Any]:
    try:
        return describe_action(plugin, name)
    except HoistError as exc:  # one broken action must not hide the others
        cfg = plugin.action_config(name)
        return {
            "name": name, "title": cfg.name or name, "description": cfg.description,
            "entrypoint": cfg.entrypoint, "method": cfg.method, "input_type": cfg.input_type,
            "output_type": cfg.output_type, "params_schema": None, "result_schema": None,
            "error": exc.message,
        }  # fmt: skip
