"""Find plugins and their actions: :func:`load_plugin` (one plugin, cached) and
:func:`discover_plugins` (every plugin under some folders, and the installed ones), both
answered by the :class:`~hoist.plugins.registry.PluginRegistry` of the process runtime
(:func:`plugin_registry`). :func:`scan_module` and :func:`scan_package` (the actions a
module defines, found by importing it) live in :mod:`hoist.plugins.scan` and are
re-exported here.

A plugin is a folder with a ``config.yaml`` (its code imported in its own
:class:`~hoist.plugins.loader.PluginNamespace`), an importable module (imported normally;
its actions come from its ``config.yaml`` when the package folder has one, else from
scanning it), or an installed package's entry point in the ``hoist.plugins`` group (see
:mod:`hoist.plugins.sources`).

To start afresh (tests, a process that wants its memory back), end the runtime that owns
the registry: :func:`hoist.runs.runtime.reset_runtime`.
"""

from __future__ import annotations

import logging
import os
import threading

from hoist.plugins.definition import DiscoveryResult, DistributionInfo, PluginDefinition
from hoist.plugins.registry import PluginRegistry, plugin_registry
from hoist.plugins.scan import ActionInfo, ParamInfo, scan_module, scan_package
from hoist.plugins.sources import ENTRY_POINT_GROUP

__all__ = [
    "ENTRY_POINT_GROUP",
    "ActionInfo",
    "DiscoveryResult",
    "DistributionInfo",
    "ParamInfo",
    "PluginDefinition",
    "PluginRegistry",
    "discover_plugins",
    "duplicate_codes",
    "load_plugin",
    "plugin_registry",
    "scan_module",
    "scan_package",
]


def load_plugin(plugin: str | os.PathLike[str]) -> PluginDefinition:
    """Load a plugin: a folder with a ``config.yaml``, a ``config.yaml`` file, the code of
    an installed plugin, an importable module name, or the code of a plugin under
    ``./plugins`` or ``./examples`` (see :meth:`PluginRegistry.load`).

    Results are cached; a cached plugin is reloaded (its code in a new namespace) when
    its ``config.yaml``, its folder's entries or any module file it imported changed.

    Raises:
        ConfigError: the ``config.yaml`` is broken (file, line and key named).
        PluginNotFoundError: nothing by that name (with the plugins found nearby).
    """
    return plugin_registry().load(plugin)


def discover_plugins(
    *search_paths: str | os.PathLike[str], entry_points: bool = True
) -> DiscoveryResult:
    """Every plugin folder (a folder with a ``config.yaml``) in ``search_paths`` or up
    to two levels below them (default: the current folder), then, with ``entry_points``,
    the plugins installed packages declare (see :meth:`PluginRegistry.discover`).

    A broken plugin does not stop the search: it is reported in ``.errors``. Two plugins
    with the same code are both listed; the first is the one a lookup by code takes, and
    a warning (logger ``hoist.plugins``, once per pair) names both places.
    """
    found = plugin_registry().discover(*search_paths, entry_points=entry_points)
    for code, places in duplicate_codes(found).items():
        key = (code, *places)
        with _warned_lock:
            if key in _warned:
                continue
            _warned.add(key)
        later = " and ".join(places[1:])
        logger.warning(
            "plugin code %r is used by %s and %s: %s is taken, %s ignored (give each "
            "plugin its own code)", code, places[0], later, places[0], later,
        )  # fmt: skip
    return found


logger = logging.getLogger("hoist.plugins")
_warned: set[tuple[str, ...]] = set()
_warned_lock = threading.Lock()


def duplicate_codes(found: list[PluginDefinition]) -> dict[str, list[str]]:
    """The codes that several of ``found`` share, each with where its plugins come from
    (folder or package), in the order found."""
    places: dict[str, list[str]] = {}
    for definition in found:
        where = str(definition.root) if definition.root is not None else definition.origin
        places.setdefault(definition.code, []).append(where)
    return {code: where for code, where in places.items() if len(where) > 1}
