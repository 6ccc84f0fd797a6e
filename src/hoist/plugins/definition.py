"""What a plugin is once found: :class:`PluginDefinition` (its config, where its code
lives, its actions imported on demand), :class:`DistributionInfo` (the installed package it
came from) and :class:`DiscoveryResult` (the plugins a search found, and the broken ones).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist.errors import ActionNotFoundError, ConfigError
from hoist.plugins.action import BaseAction
from hoist.plugins.config import ActionConfig, PluginConfig
from hoist.plugins.decorators import as_action_class, is_action
from hoist.plugins.loader import ModuleImporter, PluginNamespace

__all__ = ["DiscoveryResult", "DistributionInfo", "PluginDefinition"]


@dataclass(frozen=True)
class DistributionInfo:
    """An installed package (a distribution) that declares plugins.

    Attributes:
        name: its name, as ``pip`` lists it.
        version: its version.
    """

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(eq=False)
class PluginDefinition:
    """A loaded plugin: its config and where its code lives.

    Attributes:
        config: the validated ``config.yaml`` (or one built by scanning a module).
        root: the plugin folder, if it has one.
        config_path: the ``config.yaml`` file, if there is one.
        module: the module name, for a plugin given as an importable module.
        distribution: the installed package that declared it (an entry point in the
            ``hoist.plugins`` group); ``None`` for a folder or a module named directly.
    """

    config: PluginConfig
    root: Path | None = None
    config_path: Path | None = None
    module: str | None = None
    distribution: DistributionInfo | None = None
    _importer: PluginNamespace | ModuleImporter | None = field(default=None, init=False, repr=False)
    _classes: dict[str, type[BaseAction[Any]]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    @property
    def code(self) -> str:
        """The plugin's code (``config.yaml``'s ``code``)."""
        return self.config.code

    @property
    def origin(self) -> str:
        """Where it comes from, for people: ``<distribution> <version>``, the folder or
        the module."""
        if self.distribution is not None:
            return str(self.distribution)
        return str(self.root or self.module or self.config_path or self.code)

    @property
    def loaded_files(self) -> Sequence[tuple[str, tuple[int, int]]]:
        """``(path, (mtime_ns, size))`` of the module files its namespace imported so far
        (empty for a plugin that is an importable module). Read it, do not change it."""
        importer = self._importer
        return importer.loaded if isinstance(importer, PluginNamespace) else ()

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

    def unload(self) -> None:
        """Forget the imported code: its namespace leaves :data:`sys.modules`, and the next
        :meth:`load_action` imports it afresh."""
        with self._lock:
            importer, self._importer = self._importer, None
            self._classes.clear()
        if isinstance(importer, PluginNamespace):
            importer.unload()

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


class DiscoveryResult(list[PluginDefinition]):
    """The plugins found (a list), plus ``errors``: the broken ones, as
    :class:`ConfigError` s naming file, line and key."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[ConfigError] = []
