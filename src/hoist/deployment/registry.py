"""`StrategyRegistry`: the discovered strategies by name, their instructions and their
runner classes (each loaded once)."""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import sys
import threading
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from hoist.deployment.base import Runner
from hoist.deployment.discovery import StrategyDefinition, discover
from hoist.deployment.models import StrategyConfig
from hoist.errors import StrategyDefinitionError, StrategyNotFoundError

_Section = TypeVar("_Section", bound=BaseModel)

__all__ = ["StrategyRegistry"]


class StrategyRegistry:
    """The strategies found by one discovery (`hoist.deployment.discovery.discover`).

    ``StrategyRegistry.get()`` is the process registry (built-in strategies,
    ``HOIST_STRATEGY_PATHS`` and the ``hoist.strategies`` entry points); tests and
    embedders build their own instance.

    Args:
        paths: extra strategy folders (or folders of them).
        builtin: include the built-in strategies.
        entry_points: include the strategies installed packages declare.
    """

    _process: ClassVar[StrategyRegistry | None] = None
    _process_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, paths: Iterable[Path | str] = (), *, builtin: bool = True, entry_points: bool = True
    ) -> None:
        self.definitions = discover(
            [Path(p) for p in paths], builtin=builtin, entry_points=entry_points
        )
        self._ok = {d.name: d for d in self.definitions if not d.broken}
        self._runners: dict[str, type[Runner]] = {}
        self._lock = threading.Lock()
        self._enum: type[enum.Enum] | None = None

    @classmethod
    def get(cls) -> StrategyRegistry:
        """The process registry, discovered on first use from ``Settings.from_env()``."""
        with cls._process_lock:
            if cls._process is None:
                from hoist.settings import Settings

                cls._process = cls(Settings.from_env().strategy_paths)
            return cls._process

    @classmethod
    def reset(cls) -> None:
        """Forget the process registry (the next `get` discovers again)."""
        with cls._process_lock:
            cls._process = None

    def list_strategies(self, allowed: Iterable[str] | None = None) -> list[str]:
        """The working strategies' names (sorted), restricted to ``allowed`` when given.

        Raises:
            StrategyNotFoundError: ``allowed`` names a strategy that does not exist.
        """
        names = sorted(self._ok)
        if allowed is None:
            return names
        wanted = [_name(a) for a in allowed]
        for name in wanted:
            self._require(name, names)
        return [n for n in names if n in wanted]

    def broken(self) -> list[StrategyDefinition]:
        """The strategy folders that could not be read, each with its error."""
        return [d for d in self.definitions if d.broken]

    def strategy_exists(self, name: str) -> bool:
        """True when a working strategy has that name."""
        return _name(name) in self._ok

    def definition(self, name: str) -> StrategyDefinition:
        """The discovered folder of a working strategy.

        Raises:
            StrategyDefinitionError: the strategy's folder is broken.
            StrategyNotFoundError: no strategy by that name.
        """
        return self._require(_name(name), sorted(self._ok))

    def canonical(self, name: str | enum.Enum) -> str:
        """The name a strategy is recorded under (``ray-serve`` → ``ray_serve``)."""
        return _name(name)

    def get_strategy(self, name: str) -> StrategyConfig:
        """The strategy's ``config.yaml``. Raises like `definition`."""
        config = self.definition(name).config
        assert config is not None  # a working definition has its config
        return config

    def config_section(self, name: str, key: str, model: type[_Section]) -> _Section | None:
        """The section ``key`` of the strategy's ``config.yaml`` validated as ``model``;
        ``None`` when the config has no such section.

        Raises:
            StrategyDefinitionError: the section is malformed (naming the file and key).
        """
        raw = (self.get_strategy(name).model_extra or {}).get(key)
        if raw is None:
            return None
        path = str(self.definition(name).path / "config.yaml")
        if not isinstance(raw, dict):
            raise StrategyDefinitionError(f"{key} must be a mapping", strategy=name, path=path,
                                          key=key)  # fmt: skip
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = key + "." + ".".join(str(p) for p in first["loc"])
            raise StrategyDefinitionError(
                f"{where}: {first['msg']}", strategy=name, path=path, key=where
            ) from exc

    def get_selector_instruction(self, name: str) -> str:
        """The selector instruction's markdown. Raises like `definition`."""
        return self.definition(name).selector_instruction

    def get_adapter_instruction(self, name: str) -> str:
        """The adapter instruction's markdown. Raises like `definition`."""
        return self.definition(name).adapter_instruction

    def get_default_run_interface(self, name: str) -> dict[str, Any]:
        """The strategy's default ``run_interface`` (type, module, callable, ...)."""
        return self.get_strategy(name).run_interface.model_dump()

    def get_runner_class(self, name: str) -> type[Runner]:
        """The strategy's `Runner` subclass, imported on first use (the same class after).

        Raises:
            StrategyDefinitionError: ``runner.py`` fails to import or holds no single
                `Runner` subclass (or not the one ``runner_class`` names).
            StrategyNotFoundError: no strategy by that name.
        """
        definition = self.definition(name)
        with self._lock:
            cls = self._runners.get(definition.name)
            if cls is None:
                cls = self._runners[definition.name] = _load_runner(definition)
            return cls

    def strategy_enum(self) -> type[enum.Enum]:
        """A ``str`` Enum of the working strategies (``LOCAL = "local"``, ...)."""
        if self._enum is None:
            members = {re.sub(r"\W", "_", n).upper(): n for n in sorted(self._ok)}
            make: Any = enum.Enum  # a functional Enum: mypy cannot see its members
            self._enum = make("DeployStrategy", members, type=str, module=__name__)
        return self._enum

    def _require(self, name: str, available: list[str]) -> StrategyDefinition:
        found = self._ok.get(name)
        if found is not None:
            return found
        for broken in self.broken():
            if broken.name == name and broken.error is not None:
                raise broken.error
        raise StrategyNotFoundError(name, available)


def _name(strategy: Any) -> str:
    """A strategy's name from a name or `DeployStrategy` member; ``-`` is read as ``_``
    (``ray-serve`` is ``ray_serve``: names are identifiers, as folders and enum members)."""
    name = str(strategy.value) if isinstance(strategy, enum.Enum) else str(strategy)
    return name.replace("-", "_")


def _load_runner(definition: StrategyDefinition) -> type[Runner]:
    config = definition.config
    assert config is not None
    runner_file = str(definition.path / "runner.py")
    package = definition.package or _path_package(definition)
    try:
        module = importlib.import_module(f"{package}.runner")
    except Exception as exc:
        raise StrategyDefinitionError(
            f"runner.py failed to import: {type(exc).__name__}: {exc}",
            strategy=definition.name, path=runner_file,
        ) from exc  # fmt: skip
    if config.runner_class:
        cls = getattr(module, config.runner_class, None)
        if not (inspect.isclass(cls) and issubclass(cls, Runner)):
            raise StrategyDefinitionError(
                f"runner_class {config.runner_class!r} is not a Runner subclass in runner.py",
                strategy=definition.name, path=str(definition.path / "config.yaml"),
                key="runner_class",
            )  # fmt: skip
        return cls
    found = [
        c for c in vars(module).values()
        if inspect.isclass(c) and issubclass(c, Runner) and c is not Runner
        and c.__module__ == module.__name__ and not inspect.isabstract(c)
    ]  # fmt: skip
    if len(found) != 1:
        names = ", ".join(sorted(c.__name__ for c in found)) or "none"
        raise StrategyDefinitionError(
            f"runner.py must define exactly one Runner subclass (found: {names}); "
            "name one with runner_class in config.yaml",
            strategy=definition.name, path=runner_file, key="runner_class",
        )  # fmt: skip
    return found[0]


def _path_package(definition: StrategyDefinition) -> str:
    # A folder found by path becomes a package of its own so that runner.py's relative
    # imports work; its __init__.py is not run (the seed's only re-exports the runner).
    token = re.sub(r"\W", "_", str(definition.path.resolve()))
    name = f"_hoist_strategy_{definition.name.replace('-', '_')}_{abs(hash(token)):x}"
    if name not in sys.modules:
        package = types.ModuleType(name, f"strategy folder {definition.path}")
        package.__path__ = [str(definition.path)]
        package.__file__ = str(definition.path / "__init__.py")
        sys.modules[name] = package
    return name
