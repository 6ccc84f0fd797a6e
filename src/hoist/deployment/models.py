"""Deployment's data models: what to deploy, what was chosen, what was deployed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AdaptationResult",
    "DeployConfig",
    "DeploymentInfo",
    "DeploymentSetting",
    "RunInterface",
    "StrategyConfig",
]


class DeployConfig(BaseModel):
    """What to deploy and how the runner should call it.

    Attributes:
        code_path: the code folder (a plugin folder when ``action`` is given).
        module: the module holding the callable (``main`` → ``main.py``).
        callable: the function to call with the inputs.
        action: a plugin action to deploy instead of ``module:callable``.
        app: ``"module:app"``, an ASGI/ServeAPI app inside ``code_path``.
        env_vars: environment variables the deployed code sees.
        timeout: seconds one call may take.
        resources: resource requests (``cpu``, ``memory``, ``gpu``, ...).
        name: the deployment's name (defaults to the code folder's name).
        settings: this deployment's values of the strategy's ``settings`` (its
            ``config.yaml`` gives the defaults): ``max_ongoing_requests``, ``address``,
            ``command``, ...
        log_path: a file the runner appends its service's output to (the manager's
            choice; never part of a stored record's config).
    """

    model_config = ConfigDict(extra="forbid")

    code_path: str | None = None
    module: str = "main"
    callable: str = "predict"
    action: str | None = None
    app: str | None = None
    env_vars: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=300.0, gt=0)
    resources: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    log_path: str | None = None

    @field_validator("code_path", "log_path", mode="before")
    @classmethod
    def _path_to_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    def runner_kwargs(self) -> dict[str, Any]:
        """The keyword arguments every runner is built with: the fields, ``settings``
        spread as keywords of their own, ``name`` as `display_name`."""
        kwargs = self.model_dump(exclude={"settings"})
        kwargs["name"] = self.display_name()
        return kwargs

    def display_name(self) -> str:
        """``name``, else the code folder's name, else ``callable``."""
        if self.name:
            return self.name
        if self.code_path:
            return Path(self.code_path).name or self.callable
        return self.callable


class RunInterface(BaseModel):
    """How a strategy calls the deployed code by default."""

    model_config = ConfigDict(extra="allow")

    type: str = "function"
    module: str = "main"
    callable: str = "predict"


class StrategyConfig(BaseModel):
    """A strategy folder's ``config.yaml``."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str = ""
    run_interface: RunInterface = Field(default_factory=RunInterface)
    resources: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    interface: str | None = None
    provider: str | None = None
    runner_class: str | None = None


class DeploymentSetting(BaseModel):
    """The result of choosing a strategy (by a person or the selector)."""

    strategy: str
    provider: str | None = None
    resources: dict[str, Any] = Field(default_factory=dict)
    interface: str | None = None
    reasoning: str = ""


class AdaptationResult(BaseModel):
    """The result of adapting code to a strategy.

    ``files_generated`` are relative to ``adapted_path``; ``checks`` are the validation
    checks passed, ``errors`` one line per failed check (``error`` is the first).
    """

    success: bool
    adapted_path: str | None = None
    run_interface: dict[str, Any] = Field(default_factory=dict)
    endpoint: str | None = None
    setting: DeploymentSetting | None = None
    error: str | None = None
    files_generated: list[str] = Field(default_factory=list)
    checks: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)


class DeploymentInfo(BaseModel):
    """Metadata about a running deployment."""

    strategy: str
    name: str | None = None
    code_path: str | None = None
    provider: str | None = None
    endpoint: str | None = None
    run_interface: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, Any] = Field(default_factory=dict)
    adapted: bool = False
