"""Import a plugin folder's code in isolation, so that two plugins whose modules share
names (both have ``plugin/actions.py``) run in one process without either getting the
other's code.

How it works: each :class:`PluginNamespace` owns a synthetic package
``_hoist_plugin_<code>_<hash>`` in :data:`sys.modules` whose ``__path__`` is the plugin
folder, so ``<prefix>.plugin.actions`` is the plugin's ``plugin/actions.py``. One finder at
the front of :data:`sys.meta_path` handles names under a registered prefix: it finds the
file with :class:`importlib.machinery.PathFinder` and wraps the loader so that, before a
module runs, its ``__builtins__`` is the namespace's own copy of the builtins whose
``__import__`` sends absolute imports of the plugin's top-level names (``plugin``,
``my_plugin``) to ``<prefix>.<name>``. Functions keep the builtins of the module that
defined them, so an ``import plugin.helpers`` inside a function, at run time, still
lands in its own plugin. Relative imports work as usual; the plugin folder is never put
on :data:`sys.path`.

Known limit: ``importlib.import_module("plugin.x")`` called by plugin code bypasses
``__import__`` and is not redirected; ``import plugin.x`` and ``__import__`` are.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import os
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from hoist._entrypoints import MissingAttributeError, resolve_entrypoint
from hoist.errors import ConfigError
from hoist.plugins.config import ENTRYPOINT_PATTERN

__all__ = [
    "PREFIX",
    "ModuleImporter",
    "PluginNamespace",
    "plugin_location",
    "plugin_modules",
    "root_alias",
    "top_level_names",
    "unload_all",
]

PREFIX = "_hoist_plugin_"
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "build", "dist", "site-packages"})
_TEST_DIRS = frozenset({"tests", "test", "docs", "examples"})
_NOT_MODULES = frozenset({"setup", "conftest", "noxfile", "__main__"})
_generation = itertools.count(1)


# ---------------------------------------------------------------------------- files
def _skip_dir(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name in _SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))  # a virtualenv


def top_level_names(root: Path) -> set[str]:
    """Importable names directly in ``root``: packages, ``.py`` modules and folders
    holding ``.py`` files (namespace packages)."""
    names: set[str] = set()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return names
    for entry in entries:
        if entry.is_dir():
            if _IDENT.match(entry.name) and not _skip_dir(entry) and _has_python(entry.path):
                names.add(entry.name)
        elif entry.name.endswith(".py"):
            stem = entry.name[:-3]
            if _IDENT.match(stem) and stem != "__init__":
                names.add(stem)
    return names


def _has_python(folder: str) -> bool:
    try:
        return any(name.endswith(".py") for name in os.listdir(folder))
    except OSError:
        return False


def root_alias(root: Path, entry_modules: Iterable[str] = ()) -> str | None:
    """The folder's own name when the folder itself is the package.

    That is the seed's layout: ``my_plugin/config.yaml`` beside ``my_plugin/actions.py``
    with entrypoint ``my_plugin.actions:ProcessAction``. It applies when the folder has an
    ``__init__.py`` or an entrypoint starts with its name, and no child has that name.
    """
    name = root.name
    if not _IDENT.match(name) or name in top_level_names(root):
        return None
    if (root / "__init__.py").is_file():
        return name
    return name if any(m.split(".", 1)[0] == name for m in entry_modules) else None


def plugin_modules(root: Path, alias: str | None = None) -> list[tuple[str, Path]]:
    """``(module name, file)`` of every module a scan should look at, tests excluded.

    Names are relative to the plugin (``plugin.actions``); with ``alias`` the folder is
    the package and names start with it (``my_plugin.actions``).
    """
    found: list[tuple[str, Path]] = []

    def walk(folder: Path, package: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.is_dir():
                usable = _IDENT.match(entry.name) and not _skip_dir(entry)
                if usable and entry.name not in _TEST_DIRS:
                    walk(Path(entry.path), _join(package, entry.name))
                continue
            stem = entry.name[:-3] if entry.name.endswith(".py") else ""
            if not _IDENT.match(stem) or stem in _NOT_MODULES or _is_test(stem):
                continue
            name = package if stem == "__init__" else _join(package, stem)
            if name:
                found.append((name, Path(entry.path)))

    walk(root, alias or "")
    return found


def _join(package: str, name: str) -> str:
    return f"{package}.{name}" if package else name


def _is_test(stem: str) -> bool:
    return stem.startswith("test_") or stem.endswith("_test")


# ---------------------------------------------------------------------------- import hook
class _PackageLoader(importlib.abc.Loader):
    """Creates an empty package (the synthetic root, or a folder without __init__)."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        return None


class _IsolatingLoader(importlib.abc.Loader):
    """Wraps a found loader: gives the module its namespace's builtins, then runs it."""

    def __init__(self, inner: Any, namespace: PluginNamespace) -> None:
        self._inner = inner
        self._namespace = namespace

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__builtins__"] = self._namespace.builtins
        inner = self._inner
        if isinstance(inner, importlib.machinery.SourceFileLoader):
            path = inner.get_filename(module.__name__)
            self._namespace.record_file(path)
            # Compile from source, not __pycache__: a .pyc is validated by whole-second
            # mtime and size, so a quick same-size edit could run stale code.
            code = compile(inner.get_data(path), path, "exec", dont_inherit=True)
            exec(code, module.__dict__)
        else:
            inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    """The one meta-path finder for every registered namespace."""

    def __init__(self) -> None:
        self.namespaces: dict[str, PluginNamespace] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PREFIX):
            return None
        head, _, rest = fullname.partition(".")
        namespace = self.namespaces.get(head)
        if namespace is None or not rest:
            return None
        return namespace.find_spec(fullname, rest, path)


_FINDER = _Finder()
_lock = threading.Lock()


def _install_finder() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def plugin_location(module: str) -> tuple[Path, str] | None:
    """(plugin folder, plugin-relative module name) of a module loaded in a plugin
    namespace; ``None`` for an ordinary module. Other processes load the same plugin under
    another prefix, so this pair, not the module's name here, is what crosses processes."""
    head, _, rest = module.partition(".")
    namespace = _FINDER.namespaces.get(head)
    if namespace is None or not rest:
        return None
    return namespace.root, rest


def unload_all() -> None:
    """Unload every namespace (tests; a process that wants its memory back)."""
    for namespace in list(_FINDER.namespaces.values()):
        namespace.unload()


# ---------------------------------------------------------------------------- namespace
class PluginNamespace:
    """The modules of one plugin folder, under a private package prefix.

    Args:
        root: the plugin folder.
        code: the plugin's code (only used to make the prefix readable).
        entry_modules: module parts of the entrypoints; one starting with the folder's
            own name makes that name an alias of the folder (see :func:`root_alias`).
    """

    def __init__(self, root: Path, *, code: str = "", entry_modules: Iterable[str] = ()) -> None:
        self.root = root.resolve()
        generation = next(_generation)
        seed = f"{self.root}\0{generation}".encode()
        digest = hashlib.sha1(seed, usedforsecurity=False).hexdigest()[:8]
        slug = re.sub(r"[^a-z0-9_]", "_", (code or self.root.name).lower())[:40]
        self.prefix = f"{PREFIX}{slug}_{digest}"
        self.alias = root_alias(self.root, entry_modules)
        self.top_names = frozenset(top_level_names(self.root) | ({self.alias} - {None}))
        self.loaded: list[tuple[str, tuple[int, int]]] = []
        self.builtins: dict[str, Any] = dict(builtins.__dict__)
        self.builtins["__import__"] = self._import
        package = ModuleType(self.prefix, f"hoist plugin namespace for {self.root}")
        spec = importlib.machinery.ModuleSpec(self.prefix, _PackageLoader(), is_package=True)
        spec.submodule_search_locations = [str(self.root)]
        package.__spec__, package.__loader__ = spec, spec.loader
        package.__path__, package.__package__ = [str(self.root)], self.prefix
        with _lock:
            sys.modules[self.prefix] = package
            _FINDER.namespaces[self.prefix] = self
            _install_finder()

    def __repr__(self) -> str:
        return f"PluginNamespace({str(self.root)!r}, prefix={self.prefix!r})"

    # -------------------------------------------------------------- names
    def qualify(self, module: str) -> str:
        """The ``sys.modules`` name of the plugin's ``module`` (others unchanged)."""
        if module.split(".", 1)[0] in self.top_names:
            return f"{self.prefix}.{module}"
        return module

    def unqualify(self, module: str) -> str:
        """The plugin-relative name of a module of this namespace."""
        return module.removeprefix(self.prefix + ".")

    def module_names(self) -> list[str]:
        """Plugin-relative names of the modules a scan imports (tests excluded)."""
        return [name for name, _ in plugin_modules(self.root, self.alias)]

    # -------------------------------------------------------------- importing
    def import_module(self, module: str) -> ModuleType:
        """Import the plugin's ``module`` (plugin-relative name) in this namespace."""
        _install_finder()
        return importlib.import_module(self.qualify(module))

    def resolve(
        self, entrypoint: str, *, path: str | None = None, line: int | None = None,
        key: str | None = None,
    ) -> object:  # fmt: skip
        """Import ``module.path:Attr`` in this namespace and return the attribute.

        Args:
            entrypoint: ``module.path:Attr`` relative to the plugin folder.
            path, line, key: where the entrypoint was written (for the error).

        Raises:
            ConfigError: the string is malformed, the module does not import, or it has
                no such attribute.
        """
        return _resolve(self.import_module, entrypoint, path or str(self.root),
                        line, key)  # fmt: skip

    def record_file(self, path: str) -> None:
        """Remember a module file's stamp, so a later edit can be noticed."""
        try:
            st = os.stat(path)
        except OSError:
            return
        self.loaded.append((path, (st.st_mtime_ns, st.st_size)))

    def unload(self) -> None:
        """Forget this namespace: its modules leave :data:`sys.modules`."""
        with _lock:
            _FINDER.namespaces.pop(self.prefix, None)
            inside = self.prefix + "."
            for name in [m for m in sys.modules if m == self.prefix or m.startswith(inside)]:
                del sys.modules[name]

    # -------------------------------------------------------------- hook internals
    def find_spec(
        self, fullname: str, relative: str, path: Sequence[str] | None
    ) -> importlib.machinery.ModuleSpec | None:
        """Find ``fullname`` (``<prefix>.<relative>``) in the plugin folder."""
        spec: importlib.machinery.ModuleSpec | None
        if relative == self.alias:
            init = self.root / "__init__.py"
            locations = [str(self.root)]
            if init.is_file():
                spec = importlib.util.spec_from_file_location(
                    fullname, init, submodule_search_locations=locations
                )
            else:
                spec = importlib.machinery.ModuleSpec(fullname, _PackageLoader(), is_package=True)
                spec.submodule_search_locations = locations
                return spec
        else:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _IsolatingLoader(spec.loader, self)
        return spec

    def _import(
        self, name: str, globals: Any = None, locals: Any = None,
        fromlist: Sequence[str] | None = (), level: int = 0,
    ) -> ModuleType:  # fmt: skip
        if level == 0:
            top = name.partition(".")[0]
            if top in self.top_names:
                module = builtins.__import__(f"{self.prefix}.{name}", globals, locals, fromlist, 0)
                # ``import a.b`` binds ``a``: return the plugin's ``a``, not the prefix.
                return module if fromlist else sys.modules[f"{self.prefix}.{top}"]
        return builtins.__import__(name, globals, locals, fromlist, level)


class ModuleImporter:
    """Resolves entrypoints of a plugin that is an importable module: plain imports."""

    def __init__(self, module: str) -> None:
        self.module = module

    def resolve(
        self, entrypoint: str, *, path: str | None = None, line: int | None = None,
        key: str | None = None,
    ) -> object:  # fmt: skip
        """See :meth:`PluginNamespace.resolve`."""
        return _resolve(importlib.import_module, entrypoint, path or self.module, line, key)


def _resolve(
    importer: Any, entrypoint: str, path: str, line: int | None, key: str | None
) -> object:
    """:func:`resolve_entrypoint`, its failures as :class:`ConfigError` naming where the
    entrypoint was written."""
    if not ENTRYPOINT_PATTERN.match(entrypoint):
        problem = f"entrypoint must look like 'module.path:Attribute', got {entrypoint!r}"
        raise ConfigError(problem, path=path, line=line, key=key)
    try:
        found: object = resolve_entrypoint(entrypoint, importer)
    except MissingAttributeError as exc:
        raise ConfigError(str(exc), path=path, line=line, key=key) from None
    except Exception as exc:
        detail = str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"
        detail = re.sub(re.escape(PREFIX) + r"\w+\.", "", detail)
        problem = f"entrypoint {entrypoint!r} does not import: {detail}"
        raise ConfigError(problem, path=path, line=line, key=key) from exc
    return found
