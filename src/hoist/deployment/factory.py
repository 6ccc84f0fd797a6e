"""`DeploymentFactory`: a strategy's runner built from a `DeployConfig`, wrapped in
`DeployedSoftware`. An unknown strategy is an error, never a fallback."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from hoist.deployment.models import DeployConfig, DeploymentInfo
from hoist.deployment.registry import StrategyRegistry
from hoist.deployment.software import DeployedSoftware
from hoist.errors import DeploymentError, HoistError, StrategyNotFoundError, UserInputError

__all__ = ["DeploymentFactory", "check_settings", "runner_kwargs"]


class DeploymentFactory:
    """Build deployed software from a strategy name and a `DeployConfig`."""

    @staticmethod
    def create(
        strategy: str | enum.Enum,
        config: DeployConfig,
        strategies: Iterable[str] | None = None,
        *,
        registry: StrategyRegistry | None = None,
    ) -> DeployedSoftware:
        """Build the strategy's runner for ``config`` (not started yet).

        Args:
            strategy: a strategy's name or a `DeployStrategy` member; ``"auto"`` lets the
                selector's rules choose among ``strategies`` (`hoist.deployment.selector`).
            config: what to deploy; its ``code_path`` may be a published plugin package
                (an archive, its URL or ``LOCATION:CODE[@VERSION]``: see
                :func:`~hoist.plugins.packaging.materialize`).
            strategies: the strategies allowed (all when ``None``).
            registry: where to find strategies (the process registry by default).

        Raises:
            StrategyNotFoundError: unknown or not allowed (listing the allowed ones).
            StrategyDefinitionError: the strategy's folder or runner is broken.
            DeploymentError: the runner refused its arguments (or, for ``"auto"``, no
                strategy's rules match).
        """
        registry = registry or StrategyRegistry.get()
        if not isinstance(strategy, str | enum.Enum):
            raise TypeError(f"strategy must be a name or DeployStrategy, got {strategy!r}")
        name = registry.canonical(strategy)
        if not isinstance(config, DeployConfig):
            raise TypeError(f"config must be a DeployConfig, got {type(config).__name__}")
        if config.code_path:
            config = _with_unpacked_code(config)
        if name == "auto":
            from hoist.deployment.selector import select

            name = select(config, strategies, registry=registry).strategy
        allowed = registry.list_strategies(strategies)
        if name not in allowed:
            if strategies is not None and registry.strategy_exists(name):
                raise StrategyNotFoundError(name, allowed, where="the allowed strategies")
            registry.definition(name)  # a broken folder raises its own error
            raise StrategyNotFoundError(name, allowed)
        definition = registry.get_strategy(name)
        runner_class = registry.get_runner_class(name)
        kwargs = runner_kwargs(registry, name, config)
        try:
            runner = runner_class(**kwargs)
        except HoistError:
            raise
        except Exception as exc:
            message = f"strategy {name!r}: {runner_class.__name__} refused: {exc}"
            raise DeploymentError(message, strategy=name) from exc
        info = DeploymentInfo(
            strategy=name,
            name=config.display_name(),
            code_path=config.code_path,
            provider=definition.provider,
            endpoint=getattr(runner, "endpoint", None),
            run_interface={**definition.run_interface.model_dump(),
                           "module": kwargs["module"], "callable": kwargs["callable"]},
            resources=kwargs["resources"],
        )  # fmt: skip
        return DeployedSoftware(runner, info)

    @staticmethod
    def list_strategies(*, registry: StrategyRegistry | None = None) -> list[str]:
        """The working strategies' names."""
        return (registry or StrategyRegistry.get()).list_strategies()

    @staticmethod
    def explain_strategy(
        strategy: str | enum.Enum, *, registry: StrategyRegistry | None = None
    ) -> str:
        """The strategy's description and selector instruction, for people and agents."""
        registry = registry or StrategyRegistry.get()
        name = strategy.value if isinstance(strategy, enum.Enum) else str(strategy)
        config = registry.get_strategy(name)
        text = registry.get_selector_instruction(name).strip()
        return f"{name}: {config.description}".rstrip(": ") + ("\n\n" + text if text else "")


def _with_unpacked_code(config: DeployConfig) -> DeployConfig:
    """``config`` with a published package as ``code_path`` replaced by its unpacked
    folder (:func:`~hoist.plugins.packaging.materialize`); else ``config`` as it is."""
    from hoist.plugins.packaging.materialize import is_package_source, materialize
    from hoist.runs.runtime import get_runtime

    assert config.code_path is not None
    if not is_package_source(config.code_path):
        return config
    folder = materialize(config.code_path, settings=get_runtime().settings)
    return config.model_copy(update={"code_path": str(folder)})


def runner_kwargs(registry: StrategyRegistry, name: str, config: DeployConfig) -> dict[str, Any]:
    """The keywords the strategy ``name``'s runner is built with for ``config``: its
    settings, the deployment's, the config's fields, and the strategy's defaults for what
    the config leaves unset."""
    strategy = registry.get_strategy(name)
    check_settings(registry, name, config.settings)
    kwargs: dict[str, Any] = {**strategy.settings, **config.settings, **config.runner_kwargs()}
    # The strategy's defaults fill what the config leaves unset.
    given = config.model_fields_set
    interface = strategy.run_interface
    if "module" not in given:
        kwargs["module"] = interface.module
    if "callable" not in given:
        kwargs["callable"] = interface.callable
    settings = {**strategy.settings, **config.settings}
    if "timeout" not in given and isinstance(settings.get("timeout"), int | float):
        kwargs["timeout"] = float(settings["timeout"])
    kwargs["resources"] = {**strategy.resources, **config.resources}
    return kwargs


def check_settings(registry: StrategyRegistry, name: str, settings: Mapping[str, Any]) -> None:
    """Refuse ``settings`` the strategy ``name`` does not have (its ``config.yaml``).

    Raises:
        UserInputError: naming the unknown settings and the strategy's own.
    """
    known_settings = registry.get_strategy(name).settings
    unknown = sorted(set(settings) - set(known_settings))
    if unknown:
        known = ", ".join(sorted(known_settings)) or "none"
        raise UserInputError(
            f"strategy {name!r} has no setting {', '.join(map(repr, unknown))} "
            f"(its settings: {known})"
        )
