"""Errors of deployment: strategies, runners, adaptation."""

from __future__ import annotations

from hoist.errors.base import ConfigError, HoistError, NotFoundError

__all__ = [
    "AdaptationError",
    "DeploymentError",
    "DeploymentNotFoundError",
    "DeploymentNotReadyError",
    "EngineUnavailableError",
    "StrategyDefinitionError",
    "StrategyNotFoundError",
]


class DeploymentNotFoundError(NotFoundError):
    """No deployment by that name (or no such version of it)."""

    kind = "deployment"


class StrategyNotFoundError(NotFoundError):
    """No deployment strategy by that name among the discovered (or the allowed) ones."""

    kind = "strategy"


class StrategyDefinitionError(ConfigError):
    """A deployment strategy folder is broken (a missing file, bad YAML, a missing key, a
    runner that cannot be loaded).

    Attributes:
        strategy: the strategy's name (its folder's name when the config cannot be read).
    """

    def __init__(
        self,
        problem: str,
        *,
        strategy: str,
        path: str,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.strategy = strategy
        super().__init__(f"strategy {strategy!r}: {problem}", path=path, line=line, key=key)
        self.problem = problem


class DeploymentError(HoistError):
    """A strategy's runner could not be built, started or asked.

    Attributes:
        strategy: the strategy's name.
    """

    def __init__(self, message: str, *, strategy: str) -> None:
        self.strategy = strategy
        super().__init__(message)


class DeploymentNotReadyError(DeploymentError, TimeoutError):
    """A deployment did not become healthy within ``timeout`` seconds."""

    def __init__(self, name: str, *, strategy: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(
            f"deployment {name!r} ({strategy}) was not healthy after {timeout:g} s",
            strategy=strategy,
        )


class AdaptationError(DeploymentError):
    """Code adapted to a strategy failed a validation check (syntax, import, required
    files, smoke call).

    Attributes:
        check: the check's name (``syntax``, ``import``, ``required_files``, ``smoke``).
        path: the file concerned, when there is one.
    """

    def __init__(self, message: str, *, strategy: str, check: str, path: str | None = None):
        self.check = check
        self.path = path
        super().__init__(message, strategy=strategy)


class EngineUnavailableError(DeploymentError):
    """A strategy's engine, package or credential is missing here: the message says what
    and how to provide it (never a fallback to another target).

    Attributes:
        missing: what is missing (``"the bentoml command"``, ``"a Modal token"``, ...).
        how: how to provide it.
    """

    def __init__(self, missing: str, *, strategy: str, how: str) -> None:
        self.missing, self.how = missing, how
        super().__init__(
            f"strategy {strategy!r} cannot deploy here: {missing} is missing; {how}",
            strategy=strategy,
        )
