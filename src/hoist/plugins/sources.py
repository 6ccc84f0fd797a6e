"""Where plugins come from, read without any caching: a folder with a ``config.yaml``
(:func:`read_folder`), an importable module (:func:`read_module`), an installed package's
entry point in the ``hoist.plugins`` group (:func:`read_entry_point`), and the plugin
folders under some paths (:func:`plugin_folders`).

:class:`~hoist.plugins.registry.PluginRegistry` caches what these return.

An installed package declares its plugins in its ``pyproject.toml``::

    [project.entry-points."hoist.plugins"]
    hello = "hoist_hello"

The name is the plugin's code; the value names a module (or package) that either holds
a ``config.yaml`` beside its ``__init__.py`` (package data, with absolute entrypoints such
as ``hoist_hello.actions:Greet``) or defines its actions (found by scanning it).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
from pathlib import Path
from typing import Any

from hoist.errors import ConfigError
from hoist.plugins.config import PluginConfig, load_config
from hoist.plugins.definition import DistributionInfo, PluginDefinition
from hoist.plugins.scan import ActionInfo, scan_module, scan_package

__all__ = [
    "CONFIG_NAMES",
    "ENTRY_POINT_GROUP",
    "Stamp",
    "distribution_of",
    "entry_points",
    "plugin_folders",
    "read_entry_point",
    "read_folder",
    "read_module",
    "stamp",
]

CONFIG_NAMES = ("config.yaml", "config.yml")
"""The file names of a plugin's config, in order of preference."""
ENTRY_POINT_GROUP = "hoist.plugins"
"""The entry-point group installed packages declare their plugins in."""

Stamp = tuple[str, tuple[int, int]]
"""``(path, (mtime_ns, size))`` of a file a loaded plugin depends on."""

_SKIP = frozenset({"__pycache__", "node_modules", "venv", "site-packages", "build", "dist"})
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def stamp(path: Path | str) -> Stamp:
    """``path``'s :data:`Stamp` (raises :class:`OSError` when it is gone)."""
    st = os.stat(path)
    return str(path), (st.st_mtime_ns, st.st_size)


def read_folder(path: Path) -> tuple[PluginDefinition, list[Stamp]] | None:
    """The plugin in a folder, or in the folder of a ``config.yaml`` given as ``path``;
    ``None`` when ``path`` does not exist.

    Raises:
        ConfigError: the folder has no ``config.yaml``, the file is not one, or the
            config is broken (file, line and key named).
    """
    if path.is_dir():
        config = next((path / n for n in CONFIG_NAMES if (path / n).is_file()), None)
        if config is None:
            raise ConfigError("this folder has no config.yaml (hoist can generate one: "
                              "sync_config)", path=str(path))  # fmt: skip
        return _from_folder(path, config)
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            raise ConfigError("expected a plugin folder or its config.yaml", path=str(path))
        return _from_folder(path.parent, path)
    return None


def _from_folder(root: Path, config_path: Path) -> tuple[PluginDefinition, list[Stamp]]:
    root, config_path = root.resolve(), config_path.resolve()
    definition = PluginDefinition(load_config(config_path), root=root, config_path=config_path)
    return definition, [stamp(config_path)]


def read_module(
    name: str, *, code: str | None = None
) -> tuple[PluginDefinition, list[Stamp]] | None:
    """The plugin that the importable module ``name`` is: described by the ``config.yaml``
    in its package folder (not imported), else by scanning it for actions (imported).
    ``None`` when there is no such module, or it defines no action.

    Args:
        name: a dotted module name.
        code: the plugin's code when the module has no ``config.yaml`` (default: derived
            from ``name``).

    Raises:
        ConfigError: the module's ``config.yaml`` is broken, or the module fails to import.
    """
    if not _MODULE_NAME.match(name):
        return None
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
        for candidate in (folder / n for n in CONFIG_NAMES):
            if candidate.is_file():
                definition = PluginDefinition(load_config(candidate), folder, candidate, name)
                return definition, [stamp(candidate)]
    try:
        module = importlib.import_module(name)
        infos = scan_package(module) if folder is not None else scan_module(module)
    except Exception as exc:
        raise ConfigError(f"module {name!r} does not import: {exc}", path=origin) from exc
    if not infos:
        return None  # e.g. a stdlib module sharing a name with a plugin in ./plugins
    doc = (module.__doc__ or "").strip()
    config = _config_from_scan(name, code, doc, infos, origin)
    return PluginDefinition(config, folder, None, module=name), []


def _config_from_scan(
    name: str, code: str | None, doc: str, infos: list[ActionInfo], origin: str
) -> PluginConfig:
    actions: dict[str, dict[str, Any]] = {}
    for info in infos:
        actions.setdefault(info.name, {
            "entrypoint": info.entrypoint, "description": info.description,
            "input_type": info.input_type, "output_type": info.output_type,
        })  # fmt: skip
    code = code or re.sub(r"[^a-z0-9_\-]", "_", name.lower())
    data = {"name": name, "code": code, "description": doc.splitlines()[0] if doc else ""}
    try:
        config = PluginConfig.model_validate({**data, "actions": actions})
    except ValueError as exc:
        raise ConfigError(f"cannot describe module {name!r}: {exc}", path=origin) from exc
    config.attach_source(origin)
    return config


def entry_points(group: str = ENTRY_POINT_GROUP) -> list[importlib.metadata.EntryPoint]:
    """The entry points installed packages (anywhere on :data:`sys.path`) declare in
    ``group``, in a stable order."""
    found = importlib.metadata.entry_points(group=group)
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def distribution_of(ep: importlib.metadata.EntryPoint) -> DistributionInfo | None:
    """The installed package that declares ``ep`` (``None`` when unknown)."""
    dist = ep.dist
    if dist is None:
        return None
    return DistributionInfo(dist.metadata["Name"] or dist.name, dist.version)


def read_entry_point(ep: importlib.metadata.EntryPoint) -> PluginDefinition:
    """The plugin an entry point declares, with the distribution it came from.

    Raises:
        ConfigError: the entry point names an attribute rather than a module, the module
            is missing, broken or defines no action, or its ``config.yaml`` gives another
            code than the entry point's name. The error's ``path`` names the
            distribution and the entry point.
    """
    dist = distribution_of(ep)
    where = f"{dist or 'an installed package'}, entry point {ep.name} = {ep.value}"
    if ep.attr:
        raise ConfigError("a hoist.plugins entry point names a module, not an attribute",
                          path=where)  # fmt: skip
    found = read_module(ep.module, code=ep.name)
    if found is None:
        raise ConfigError(f"module {ep.module!r} is not installed or defines no action",
                          path=where)  # fmt: skip
    definition = found[0]
    if definition.code != ep.name:
        problem = (
            f"its config.yaml gives the code {definition.code!r}; the entry point's name "
            f"must be the plugin's code"
        )
        raise ConfigError(problem, path=where)
    definition.distribution = dist
    return definition


def plugin_folders(paths: list[Path], depth: int = 2) -> list[Path]:
    """Plugin folders (with a ``config.yaml``) among ``paths`` and up to ``depth`` levels
    below them; a plugin's own subfolders are its code, not more plugins."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            continue
        if any((path / n).is_file() for n in CONFIG_NAMES):
            found.append(path)
        elif depth > 0:
            children = sorted(
                p for p in path.iterdir()
                if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP
            )  # fmt: skip
            found.extend(plugin_folders(children, depth - 1))
    return found
