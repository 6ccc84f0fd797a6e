"""Request and response bodies of the deployments and strategies API (pydantic models:
they make the OpenAPI document).

A deploy names a plugin of the server's catalog, never a path: the catalog's folder of
that plugin is what gets deployed. Answers never hold a server path (a record's code
snapshot and log file stay on the server) nor a secret (``env_vars`` values read
``"***"``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from hoist.server.schemas import NAME_PATTERN

__all__ = [
    "DEPLOYMENT_NAME_PATTERN",
    "MASK",
    "BrokenStrategy",
    "DeployRequest",
    "DeploymentDetail",
    "DeploymentInfo",
    "DeploymentLogs",
    "InvokeRequest",
    "RollbackRequest",
    "StrategyDetail",
    "StrategyInfo",
    "StrategyList",
    "server_only_settings",
]

DEPLOYMENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
"""A deployment's name (as :data:`hoist.deployment.records.NAME_PATTERN`)."""
MASK = "***"
"""What an ``env_vars`` value reads as in every answer."""

_DOTTED = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_APP = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_STRATEGY = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"

EnvName = Annotated[str, Field(pattern=_ENV_NAME)]
EnvValue = Annotated[str, Field(max_length=10_000)]
SettingName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SettingValue = Annotated[str | int | float | bool | None, Field(union_mode="left_to_right")]
_SERVER_ONLY_SETTINGS = frozenset({"command", "python", "host"})


def server_only_settings(settings: dict[str, Any]) -> list[str]:
    """The ``settings`` a request may not give: those naming a program, a file or an
    interface of the server (``command``, ``python``, ``host``, ``*_path``, ``*_dir``)."""
    return sorted(k for k in settings
                  if k in _SERVER_ONLY_SETTINGS or k.endswith(("_path", "_dir")))  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeployRequest(_Strict):
    """What to deploy: a plugin of the server's catalog (its action, app or callable) with
    a strategy. Without ``action``, ``app``, ``module`` or ``callable``, a plugin with one
    action deploys that action."""

    plugin: str = Field(pattern=NAME_PATTERN, description="The plugin's code (its catalog's).")
    action: str | None = Field(None, pattern=NAME_PATTERN, description="An action to deploy.")
    app: str | None = Field(
        None, pattern=_APP, description="`module:app`, an ASGI/ServeAPI app in the plugin."
    )
    module: str | None = Field(
        None, pattern=_DOTTED, max_length=200, description="The module holding the callable."
    )
    callable: str | None = Field(
        None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$", description="The callable to call."
    )
    strategy: str = Field(
        pattern=_STRATEGY, description="A strategy (`GET /api/v1/strategies`), or `auto`."
    )
    name: str | None = Field(
        None,
        pattern=DEPLOYMENT_NAME_PATTERN,
        description="The deployment's name (default: the plugin's code).",
    )
    env_vars: dict[EnvName, EnvValue] = Field(
        default_factory=dict,
        max_length=200,
        description="Environment variables of the deployed code (answers mask the values).",
        json_schema_extra={"additionalProperties": False},  # only names that match
    )
    timeout: float | None = Field(None, gt=0, le=86_400, description="Seconds one call may take.")
    settings: dict[SettingName, SettingValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Values of the strategy's settings (`GET /api/v1/strategies/{name}`), "
        "except those naming a program or a file on the server (`command`, `python`, "
        "`*_path`, `*_dir`): those stay the server's (403).",
        json_schema_extra={"additionalProperties": False},  # only names that match
    )


class DeploymentInfo(BaseModel):
    """One version of a named deployment (``env_vars`` values masked)."""

    name: str
    version: int
    strategy: str
    status: str = Field(description="deploying, running, replaced, stopped or failed.")
    health: str = Field(description="healthy, unhealthy or unknown.")
    endpoint: str | None = None
    run_id: str = Field(description="The deploy run that last started this version.")
    owner: str | None = Field(None, description="The process (or cluster) that runs it.")
    config: dict[str, Any] = Field(default_factory=dict)
    input_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema of the inputs, when known."
    )
    error: str | None = None
    created_at: float
    updated_at: float


class DeploymentDetail(DeploymentInfo):
    """A version of a deployment with every version of its name, oldest first."""

    versions: list[DeploymentInfo] = Field(default_factory=list)


class InvokeRequest(_Strict):
    """A call of a deployment."""

    inputs: dict[str, Any] = Field(default_factory=dict, description="The call's inputs.")


class RollbackRequest(_Strict):
    """Which version to return to (default: the newest older one that ran)."""

    version: int | None = Field(None, ge=1, le=2**31 - 1)


class DeploymentLogs(BaseModel):
    """The running version's logs (the tail)."""

    logs: str


class StrategyInfo(BaseModel):
    """A working deployment strategy."""

    name: str
    description: str
    provider: str | None = None
    interface: str | None = None
    source: str = Field(description="builtin, path or the entry point that declared it.")


class BrokenStrategy(BaseModel):
    """A strategy folder that could not be read."""

    name: str
    source: str
    error: str


class StrategyList(BaseModel):
    """The working strategies and the broken folders."""

    strategies: list[StrategyInfo]
    broken: list[BrokenStrategy] = Field(default_factory=list)


class StrategyDetail(StrategyInfo):
    """A strategy explained: when to choose it, and its ``config.yaml``."""

    explanation: str = Field(description="Its description and selector instruction.")
    selector_instruction: str = ""
    run_interface: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
