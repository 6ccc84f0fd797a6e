"""The plugin registry: every plugin one process knows, owned by its
:class:`~hoist.runs.runtime.Runtime` (:func:`plugin_registry`), never a module global.

It holds two things, as pluggy's ``PluginManager`` does:

- plugins loaded by path or module name (:meth:`PluginRegistry.load`), cached and
  reloaded when their files change;
- plugins registered by code (:meth:`PluginRegistry.register`, validated then): those
  installed packages declare as entry points (:meth:`PluginRegistry.load_entry_points`,
  each recording the distribution it came from) and any a program adds itself.

Lookups by code: :meth:`~PluginRegistry.get` raises :class:`PluginNotFoundError` with
"did you mean" suggestions; :meth:`~PluginRegistry.find` returns ``None``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist.errors import ConfigError, PluginNotFoundError
from hoist.plugins.definition import DiscoveryResult, PluginDefinition
from hoist.plugins.loader import top_level_names
from hoist.plugins.sources import (
    ENTRY_POINT_GROUP,
    Stamp,
    plugin_folders,
    read_entry_point,
    read_folder,
    read_module,
    stamp,
)
from hoist.plugins.sources import entry_points as installed_entry_points

if TYPE_CHECKING:
    from hoist.runs.runtime import Runtime

__all__ = ["PluginRegistry", "plugin_registry"]


@dataclass
class _Entry:
    definition: PluginDefinition
    stamps: list[Stamp]  # config.yaml (and anything else that must not change)
    folder: Stamp | None = None  # the plugin folder: entries added or removed
    names: frozenset[str] = frozenset()  # its importable names when loaded


class PluginRegistry:
    """The plugins one process knows (see the module). Thread-safe.

    Args:
        entry_point_group: the entry-point group of installed plugins.
    """

    def __init__(self, *, entry_point_group: str = ENTRY_POINT_GROUP) -> None:
        self.entry_point_group = entry_point_group
        self._cache: dict[Any, _Entry] = {}
        self._by_code: dict[str, PluginDefinition] = {}
        self._retired: list[PluginDefinition] = []  # replaced by a reload; maybe running
        self._entry_points_seen: set[tuple[str, str]] = set()
        self._entry_points_loaded = False
        self._errors: list[ConfigError] = []
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ by code
    def register(self, definition: PluginDefinition) -> PluginDefinition:
        """Add a plugin under its code; it is validated now, not at first use.

        Raises:
            ConfigError: another plugin already has this code (the error's ``path`` is
                the newcomer's origin, its message names the one registered first).
        """
        with self._lock:
            current = self._by_code.get(definition.code)
            if current is not None and current.origin != definition.origin:
                problem = f"plugin code {definition.code!r} is already taken by {current.origin}"
                raise ConfigError(problem, path=definition.origin, key="code")
            self._by_code[definition.code] = definition
        return definition

    def find(self, code: str) -> PluginDefinition | None:
        """The registered plugin with this code (installed ones included), or ``None``."""
        self._ensure_entry_points()
        return self._by_code.get(code)

    def get(self, code: str) -> PluginDefinition:
        """The registered plugin with this code (installed ones included).

        Raises:
            PluginNotFoundError: none, with the codes that exist and the nearest.
        """
        found = self.find(code)
        if found is None:
            raise PluginNotFoundError(code, self._by_code, where="the installed plugins")
        return found

    def plugins(self) -> list[PluginDefinition]:
        """The registered plugins (installed ones included), by code."""
        self._ensure_entry_points()
        with self._lock:
            return [self._by_code[code] for code in sorted(self._by_code)]

    def load_entry_points(self) -> list[PluginDefinition]:
        """Register the plugins installed packages declare (the ``hoist.plugins``
        entry-point group), each with the distribution it came from: one explicit call,
        as pluggy's ``load_setuptools_entrypoints``; :meth:`find`, :meth:`get` and
        :meth:`discover` make it once by themselves. Calling it again adds packages
        installed since. A broken one does not stop the others: it is kept in
        :attr:`entry_point_errors`.

        Returns:
            the plugins registered by this call.
        """
        added: list[PluginDefinition] = []
        with self._lock:
            self._entry_points_loaded = True
            for ep in installed_entry_points(self.entry_point_group):
                if (ep.name, ep.value) in self._entry_points_seen:
                    continue
                self._entry_points_seen.add((ep.name, ep.value))
                try:
                    added.append(self.register(read_entry_point(ep)))
                except ConfigError as exc:
                    self._errors.append(exc)
        return added

    @property
    def entry_point_errors(self) -> list[ConfigError]:
        """Installed plugins that could not be registered (naming package and entry point)."""
        with self._lock:
            return list(self._errors)

    def _ensure_entry_points(self) -> None:
        if not self._entry_points_loaded:
            self.load_entry_points()

    # ------------------------------------------------------------------ by path
    def load(self, plugin: str | os.PathLike[str]) -> PluginDefinition:
        """Load a plugin: a folder with a ``config.yaml``, a ``config.yaml`` file, the code
        of a registered (installed) plugin, an importable module name, or the code of a
        plugin under ``./plugins`` or ``./examples``.

        Results are cached; a cached plugin is reloaded (its code in a new namespace) when
        its ``config.yaml``, its folder's entries or any module file it imported changed.

        Raises:
            ConfigError: the ``config.yaml`` is broken (file, line and key named).
            PluginNotFoundError: nothing by that name (with the plugins found nearby).
        """
        text = plugin if isinstance(plugin, str) else os.fspath(plugin)
        key: Any = text if os.path.isabs(text) else (os.getcwd(), text)
        entry = self._cache.get(key)
        if entry is not None and _fresh(entry):
            return entry.definition
        with self._lock:
            stale = self._cache.pop(key, None)
            definition, stamps = self._read(text)
            if stale is not None and stale.definition is not definition:
                self._retired.append(stale.definition)  # unloaded by close()
            entry = _Entry(definition, stamps)
            if definition.module is None and definition.root is not None:
                entry.folder = stamp(definition.root)
                entry.names = frozenset(top_level_names(definition.root))
            self._cache[key] = entry
            return definition

    def discover(
        self, *search_paths: str | os.PathLike[str], entry_points: bool = True
    ) -> DiscoveryResult:
        """Every plugin folder (a folder with a ``config.yaml``) in ``search_paths`` or up
        to two levels below them (default: the current folder), then, with
        ``entry_points``, the registered plugins (installed packages' included).

        A broken plugin does not stop the search: it is reported in ``.errors``.
        """
        result = DiscoveryResult()
        paths = [Path(p) for p in search_paths] or [Path.cwd()]
        for folder in plugin_folders(paths):
            try:
                result.append(self.load(folder))
            except ConfigError as exc:
                result.errors.append(exc)
        if entry_points:
            listed = {id(p) for p in result}
            result.extend(p for p in self.plugins() if id(p) not in listed)
            result.errors.extend(self.entry_point_errors)
        return result

    def close(self) -> None:
        """Forget every plugin and unload the code imported for them."""
        with self._lock:
            definitions = [e.definition for e in self._cache.values()]
            definitions += [*self._by_code.values(), *self._retired]
            self._cache.clear()
            self._by_code.clear()
            self._retired.clear()
            self._entry_points_seen.clear()
            self._entry_points_loaded = False
            self._errors.clear()
        for definition in {id(d): d for d in definitions}.values():
            definition.unload()

    def _read(self, text: str) -> tuple[PluginDefinition, list[Stamp]]:
        found = read_folder(Path(text).expanduser())
        if found is not None:
            return found
        registered = self.find(text)
        if registered is not None:
            return registered, []
        found = read_module(text)
        if found is not None:
            return found
        nearby = self._nearby()
        if text in nearby:
            return self._read(str(nearby[text]))
        where = "./plugins, ./examples, the installed plugins or the Python path"
        raise PluginNotFoundError(text, {*nearby, *self._by_code}, where=where)

    def _nearby(self) -> dict[str, Path]:
        """Codes of the plugins in the current folder's ``plugins/`` and ``examples/``."""
        found: dict[str, Path] = {}
        cwd = Path.cwd()
        for folder in plugin_folders([cwd / "plugins", cwd / "examples"]):
            try:
                found.setdefault(self.load(folder).code, folder)
            except ConfigError:
                continue
        return found


def _fresh(entry: _Entry) -> bool:
    # The hot path of ``run_plugin``: a few stats, no directory walk. Edits change a
    # file's own stamp; new or removed files change the folder's.
    try:
        for files in (entry.stamps, entry.definition.loaded_files):
            for path, (mtime, size) in files:
                st = os.stat(path)
                if st.st_mtime_ns != mtime or st.st_size != size:
                    return False
        if entry.folder is not None:
            path, (mtime, _) = entry.folder
            if os.stat(path).st_mtime_ns != mtime:
                # An action writing its outputs into the folder must not cause a reload
                # per run: only a change of importable names counts.
                if frozenset(top_level_names(Path(path))) != entry.names:
                    return False
                entry.folder = stamp(Path(path))
    except OSError:
        return False
    return True


def plugin_registry(runtime: Runtime | None = None) -> PluginRegistry:
    """The plugin registry ``runtime`` owns (default: the process runtime's,
    :func:`~hoist.runs.runtime.get_runtime`). It ends with the runtime:
    :func:`~hoist.runs.runtime.reset_runtime` starts a fresh one."""
    if runtime is None:
        runtime = _process_runtime()
    return runtime.component(PluginRegistry)


def _process_runtime() -> Runtime:
    # Imported on first use (the run store's SQLAlchemy stays out of plugin imports),
    # then kept: an import statement per call would be most of the hot path's cost.
    global _get_runtime
    if _get_runtime is None:
        from hoist.runs.runtime import get_runtime

        _get_runtime = get_runtime
    return _get_runtime()


_get_runtime: Callable[[], Runtime] | None = None
