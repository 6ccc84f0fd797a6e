"""Find plugins and their actions: :func:`load_plugin` (one plugin, cached) and
:func:`discover_plugins` (every plugin under some folders). :func:`scan_module` and
:func:`scan_package` (the actions a module defines, found by importing it) live in
:mod:`hoist.plugins.scan` and are re-exported here.

A plugin is a folder with a ``config.yaml`` (its code imported in its own
:class:`~hoist.plugins.loader.PluginNamespace`), or an importable module (imported
normally; its actions come from its ``config.yaml`` when the package folder has one,
else from scanning it).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist.errors import ActionNotFoundError, ConfigError, PluginNotFoundError
from hoist.plugins.action import BaseAction
from hoist.plugins.config import ActionConfig, PluginConfig, load_config
from hoist.plugins.decorators import as_action_class, is_action
from hoist.plugins.loader import ModuleImporter, PluginNamespace, top_level_names, unload_all
from hoist.plugins.scan import ActionInfo, ParamInfo, scan_module, scan_package

__all__ = [
    "ActionInfo",
    "DiscoveryResult",
    "ParamInfo",
    "PluginDefinition",
    "clear_cache",
    "discover_plugins",
    "load_plugin",
    "scan_module",
    "scan_package",
]

_CONFIG_NAMES = ("config.yaml", "config.yml")
_SKIP = frozenset({"__pycache__", "node_modules", "venv", "site-packages", "build", "dist"})
_Stamp = tuple[str, tuple[int, int]]


@dataclass(eq=False)
class PluginDefinition:
    """A loaded plugin: its config and where its code lives.

    Attributes:
        config: the validated ``config.yaml`` (or one built by scanning a module).
        root: the plugin folder, if it has one.
        config_path: the ``config.yaml`` file, if there is one.
        module: the module name, for a plugin given as an importable module.
    """

    config: PluginConfig
    root: Path | None = None
    config_path: Path | None = None
    module: str | None = None
    _importer: PluginNamespace | ModuleImporter | None = field(default=None, init=False, repr=False)
    _classes: dict[str, type[BaseAction[Any]]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    @property
    def code(self) -> str:
        """The plugin's code (``config.yaml``'s ``code``)."""
        return self.config.code

    @property
    def namespace(self) -> PluginNamespace | None:
        """The isolated namespace the plugin's code is imported in (``None`` for a
        plugin that is an importable module)."""
        importer = self._get_importer()
        return importer if isinstance(importer, PluginNamespace) else None

    def action_names(self) -> list[str]:
        """The action names, in ``config.yaml`` order."""
        return list(self.config.actions)

    def action_config(self, name: str) -> ActionConfig:
        """The ``actions.<name>`` entry.

        Raises:
            ActionNotFoundError: no such action (with the nearest names).
        """
        try:
            return self.config.actions[name]
        except KeyError:
            raise ActionNotFoundError(name, self.config.actions, where=self.code) from None

    def entrypoint(self, name: str) -> str:
        """The action's ``module.path:Attr``, relative to the plugin."""
        return self.action_config(name).entrypoint

    def load_action(self, name: str) -> type[BaseAction[Any]]:
        """Import the action's code and return its class (``@action`` functions too).

        Raises:
            ActionNotFoundError: no such action.
            ConfigError: the entrypoint does not import, names nothing, or names
                something that is not an action; a declared data type is unknown.
        """
        cls = self._classes.get(name)
        if cls is not None:
            return cls
        with self._lock:
            cls = self._classes.get(name)
            if cls is None:
                cls = self._classes[name] = self._load_action(name)
            return cls

    def _load_action(self, name: str) -> type[BaseAction[Any]]:
        cfg = self.action_config(name)
        path, line, key = cfg.location("entrypoint")
        importer = self._get_importer()
        obj = importer.resolve(cfg.entrypoint, path=path, line=line, key=key)
        if not is_action(obj):
            problem = (
                f"entrypoint {cfg.entrypoint!r} is not an action "
                "(a BaseAction subclass or an @action function)"
            )
            raise ConfigError(problem, path=path, line=line, key=key)
        cls = as_action_class(obj)
        if cls.execute is BaseAction.execute and cls.setup_steps is BaseAction.setup_steps:
            problem = (
                f"entrypoint {cfg.entrypoint!r} names {cls.__name__}, which implements "
                "neither execute() nor setup_steps()"
            )
            raise ConfigError(problem, path=path, line=line, key=key)
        for which in ("input_type", "output_type"):
            declared = cfg.resolve_type(which, importer.resolve)
            current = getattr(cls, which)
            if declared is not None and current is None:
                setattr(cls, which, declared)  # function actions can only declare it here
            elif declared is not None and current is not declared:
                where, at, key = cfg.location(which)
                problem = (
                    f"{which} {getattr(cfg, which)!r} does not match the action's "
                    f"{which} {current.__name__}"
                )
                raise ConfigError(problem, path=where, line=at, key=key)
        return cls

    def _get_importer(self) -> PluginNamespace | ModuleImporter:
        if self._importer is None:
            with self._lock:
                if self._importer is None:
                    self._importer = self._make_importer()
        return self._importer

    def _make_importer(self) -> PluginNamespace | ModuleImporter:
        if self.module is not None or self.root is None:
            return ModuleImporter(self.module or self.code)
        modules = [a.entrypoint.partition(":")[0] for a in self.config.actions.values()]
        return PluginNamespace(self.root, code=self.code, entry_modules=modules)


# ---------------------------------------------------------------------------- loading
@dataclass
class _Entry:
    definition: PluginDefinition
    stamps: list[_Stamp]  # config.yaml (and anything else that must not change)
    folder: _Stamp | None = None  # the plugin folder: entries added or removed
    names: frozenset[str] = frozenset()  # its importable names when loaded


_cache: dict[Any, _Entry] = {}
_cache_lock = threading.RLock()
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def load_plugin(plugin: str | os.PathLike[str]) -> PluginDefinition:
    """Load a plugin: a folder with a ``config.yaml``, a ``config.yaml`` file, an
    importable module name, or the code of a plugin under ``./plugins`` or ``./examples``.

    Results are cached; a cached plugin is reloaded (its code in a new namespace) when
    its ``config.yaml``, its folder's entries or any module file it imported changed.

    Raises:
        ConfigError: the ``config.yaml`` is broken (file, line and key named).
        PluginNotFoundError: nothing by that name (with the plugins found nearby).
    """
    text = plugin if isinstance(plugin, str) else os.fspath(plugin)
    key: Any = text if os.path.isabs(text) else (os.getcwd(), text)
    entry = _cache.get(key)
    if entry is not None and _fresh(entry):
        return entry.definition
    with _cache_lock:
        _cache.pop(key, None)
        definition, stamps = _load(text)
        entry = _Entry(definition, stamps)
        if definition.module is None and definition.root is not None:
            entry.folder = _stamp(definition.root)
            entry.names = frozenset(top_level_names(definition.root))
        _cache[key] = entry
        return definition


def clear_cache() -> None:
    """Forget every loaded plugin and unload their namespaces."""
    with _cache_lock:
        _cache.clear()
        unload_all()


def _fresh(entry: _Entry) -> bool:
    # The hot path of ``run_plugin``: a few stats, no directory walk. Edits change a
    # file's own stamp; new or removed files change the folder's.
    try:
        for path, (mtime, size) in entry.stamps:
            st = os.stat(path)
            if st.st_mtime_ns != mtime or st.st_size != size:
                return False
        importer = entry.definition._importer
        if isinstance(importer, PluginNamespace):
            for path, (mtime, size) in importer.loaded:
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
                entry.folder = _stamp(Path(path))
    except OSError:
        return False
    return True


def _stamp(path: Path) -> _Stamp:
    st = os.stat(path)
    return str(path), (st.st_mtime_ns, st.st_size)


def _load(text: str) -> tuple[PluginDefinition, list[_Stamp]]:
    path = Path(text).expanduser()
    if path.is_dir():
        config = next((path / n for n in _CONFIG_NAMES if (path / n).is_file()), None)
        if config is None:
            raise ConfigError("this folder has no config.yaml (hoist can generate one: "
                              "sync_config)", path=str(path))  # fmt: skip
        return _from_folder(path, config)
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            raise ConfigError("expected a plugin folder or its config.yaml", path=str(path))
        return _from_folder(path.parent, path)
    if _MODULE_NAME.match(text):
        found = _from_module(text)
        if found is not None:
            return found
    nearby = _nearby()
    if text in nearby:
        return _load(str(nearby[text]))
    where = "./plugins, ./examples or the Python path"
    raise PluginNotFoundError(text, nearby, where=where)


def _from_folder(root: Path, config_path: Path) -> tuple[PluginDefinition, list[_Stamp]]:
    root, config_path = root.resolve(), config_path.resolve()
    config = load_config(config_path)
    definition = PluginDefinition(config, root=root, config_path=config_path)
    return definition, [_stamp(config_path)]


def _from_module(name: str) -> tuple[PluginDefinition, list[_Stamp]] | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    origin = spec.origin or name
    folder = None
    if spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))).resolve()
        for candidate in (folder / n for n in _CONFIG_NAMES):
            if candidate.is_file():
                config = load_config(candidate)
                definition = PluginDefinition(config, folder, candidate, module=name)
                return definition, [_stamp(candidate)]
    try:
        module = importlib.import_module(name)
        infos = scan_package(module) if folder is not None else scan_module(module)
    except Exception as exc:
        raise ConfigError(f"module {name!r} does not import: {exc}", path=origin) from exc
    if not infos:
        return None  # e.g. a stdlib module sharing a name with a plugin in ./plugins
    config = _config_from_scan(name, (module.__doc__ or "").strip(), infos, origin)
    return PluginDefinition(config, folder, None, module=name), []


def _config_from_scan(name: str, doc: str, infos: list[ActionInfo], origin: str) -> PluginConfig:
    actions: dict[str, dict[str, Any]] = {}
    for info in infos:
        actions.setdefault(info.name, {
            "entrypoint": info.entrypoint, "description": info.description,
            "input_type": info.input_type, "output_type": info.output_type,
        })  # fmt: skip
    code = re.sub(r"[^a-z0-9_\-]", "_", name.lower())
    data = {"name": name, "code": code, "description": doc.splitlines()[0] if doc else ""}
    try:
        config = PluginConfig.model_validate({**data, "actions": actions})
    except ValueError as exc:
        raise ConfigError(f"cannot describe module {name!r}: {exc}", path=origin) from exc
    config.attach_source(origin)
    return config


def _nearby() -> dict[str, Path]:
    """Codes of the plugins in the current folder's ``plugins/`` and ``examples/``."""
    found: dict[str, Path] = {}
    cwd = Path.cwd()
    for folder in _plugin_folders([cwd / "plugins", cwd / "examples"]):
        try:
            found.setdefault(load_plugin(folder).code, folder)
        except ConfigError:
            continue
    return found


# ---------------------------------------------------------------------------- discovery
class DiscoveryResult(list[PluginDefinition]):
    """The plugins found (a list), plus ``errors``: the broken ones, as
    :class:`ConfigError` s naming file, line and key."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[ConfigError] = []


def discover_plugins(*search_paths: str | os.PathLike[str]) -> DiscoveryResult:
    """Every plugin folder (a folder with a ``config.yaml``) in ``search_paths`` or up
    to two levels below them (default: the current folder).

    A broken ``config.yaml`` does not stop the search: it is reported in ``.errors``.
    """
    result = DiscoveryResult()
    paths = [Path(p) for p in search_paths] or [Path.cwd()]
    for folder in _plugin_folders(paths):
        try:
            result.append(load_plugin(folder))
        except ConfigError as exc:
            result.errors.append(exc)
    return result


def _plugin_folders(paths: list[Path], depth: int = 2) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            continue
        if any((path / n).is_file() for n in _CONFIG_NAMES):
            found.append(path)  # a plugin's subfolders are its code, not more plugins
        elif depth > 0:
            children = sorted(
                p for p in path.iterdir()
                if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP
            )  # fmt: skip
            found.extend(_plugin_folders(children, depth - 1))
    return found
