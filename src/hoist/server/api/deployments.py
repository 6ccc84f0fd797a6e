"""Deployments: deploy a catalog plugin with a strategy, list and read them with their
versions, call them, read their logs, stop them and roll them back.

A deploy names a plugin of the server's :class:`~hoist.server.catalog.PluginCatalog`;
the catalog's folder of that plugin is deployed (a client never gives a path). Deploys,
calls and stops are blocking work (a subprocess started, its health waited for): the
routes are plain functions, which FastAPI runs in its thread pool, so the event loop
stays free. ``env_vars`` values read ``"***"`` in every answer.

A call answers the deployment's envelope as the body: 200 for ``success``, 422 when the
inputs do not validate (the envelope's error has ``field_errors``), 502 for any other
error the deployment answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from hoist.deployment.models import DeployConfig
from hoist.deployment.records import DeploymentRecord
from hoist.errors import (
    ActionNotFoundError,
    NotFoundError,
    ParamsValidationError,
    StrategyDefinitionError,
    UserInputError,
)
from hoist.server.api import API_PREFIX
from hoist.server.deployment_schemas import (
    DEPLOYMENT_NAME_PATTERN,
    MASK,
    DeploymentDetail,
    DeploymentInfo,
    DeploymentLogs,
    DeployRequest,
    InvokeRequest,
    RollbackRequest,
    server_only_settings,
)
from hoist.server.deps import Operator, State, Viewer, responses
from hoist.server.errors import ApiError

__all__ = ["deployment_info", "envelope_status", "router"]

router = APIRouter(prefix=f"{API_PREFIX}/deployments", tags=["deployments"])

Name = Annotated[str, Path(pattern=DEPLOYMENT_NAME_PATTERN, description="A deployment's name.")]
_INVOKE_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The deployment answered `{status: success, output}`"},
    422: {"description": "The inputs do not validate: the error envelope, with `field_errors`"},
    502: {"description": "The deployment answered an error: the error envelope"},
}
#: Error types of an envelope that mean the inputs did not validate.
_INPUT_ERRORS = frozenset({"ParamsValidationError", "ValidationError", "InputsError"})


def deployment_info(record: DeploymentRecord) -> DeploymentInfo:
    """The API's view of a record: no server path, ``env_vars`` values masked."""
    data = record.model_dump(exclude={"snapshot"})
    config = dict(data.get("config") or {})
    env = config.get("env_vars")
    if isinstance(env, dict):
        config["env_vars"] = dict.fromkeys(env, MASK)
    config.pop("log_path", None)
    config.pop("code_path", None)
    data["config"] = config
    data["input_schema"] = getattr(record, "input_schema", None)
    return DeploymentInfo.model_validate(data)


def envelope_status(envelope: dict[str, Any]) -> int:
    """The HTTP status of a call's envelope: 200, 422 (inputs) or 502."""
    if envelope.get("status") == "success":
        return 200
    error = envelope.get("error")
    if isinstance(error, dict) and (
        error.get("field_errors") is not None or error.get("type") in _INPUT_ERRORS
    ):
        return 422
    return 502


@contextmanager
def _as_field(field: str) -> Iterator[None]:
    """A plain :class:`UserInputError` becomes a 422 naming ``field`` (not-found and
    validation errors, and a broken strategy (409), keep their own answers)."""
    try:
        yield
    except (NotFoundError, ParamsValidationError, StrategyDefinitionError):
        raise
    except UserInputError as exc:
        raise ParamsValidationError({field: [exc.message]}, subject="request") from exc


@router.get("", response_model=list[DeploymentInfo], responses=responses(401))
def list_deployments(state: State, principal: Viewer) -> list[DeploymentInfo]:
    """Each deployment's current version (the running one, else the newest), by name."""
    return [deployment_info(r) for r in state.deployments.list()]


@router.post(
    "", status_code=201, response_model=DeploymentInfo,
    responses=responses(401, 403, 404, 409, 422),
)  # fmt: skip
def deploy(
    body: DeployRequest, state: State, principal: Operator, response: Response
) -> DeploymentInfo:
    """Deploy a plugin of the server's catalog (an action, app or callable of its folder)
    with a strategy, as a new version of ``name``; answers once it is healthy (409 when
    a step failed: the version that was running keeps running)."""
    plugin = state.catalog.get(body.plugin)  # unknown: 404 listing the plugins
    if plugin.root is None:
        raise ParamsValidationError(
            {"plugin": [f"plugin {plugin.code!r} has no folder to deploy"]}, subject="request"
        )
    given: dict[str, Any] = {
        "action": body.action, "app": body.app, "module": body.module,
        "callable": body.callable, "timeout": body.timeout,
    }  # fmt: skip
    given = {k: v for k, v in given.items() if v is not None}
    actions = plugin.action_names()
    if body.action is not None and body.action not in actions:
        raise ActionNotFoundError(body.action, actions, where=f"plugin {plugin.code!r}")
    if not given.keys() & {"action", "app", "module", "callable"}:
        if len(actions) != 1:
            listed = ", ".join(actions) or "none"
            raise ParamsValidationError(
                {"action": [f"plugin {plugin.code!r} has {len(actions)} actions ({listed}): "
                            "name the one to deploy, or an app or callable"]},
                subject="request",
            )  # fmt: skip
        given["action"] = actions[0]
    if body.env_vars:
        given["env_vars"] = body.env_vars
    if body.settings:
        refused = server_only_settings(body.settings)
        if refused:
            raise ApiError(
                403,
                f"settings {', '.join(map(repr, refused))} name a program, a file or an "
                "interface of the server: only the server's strategy configuration sets them",
            )
        given["settings"] = body.settings
    config = DeployConfig(**given)
    with _as_field("name"):
        record = state.deployments.deploy(
            plugin.root, body.strategy, body.name or plugin.code, config
        )
    response.headers["Location"] = f"{API_PREFIX}/deployments/{record.name}"
    return deployment_info(record)


@router.get("/{name}", response_model=DeploymentDetail, responses=responses(401, 404, 422))
def get_deployment(
    name: Name,
    state: State,
    principal: Viewer,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> DeploymentDetail:
    """A deployment's current version (or ``version``) with every version of its name."""
    record = deployment_info(state.deployments.show(name, version))
    versions = [deployment_info(r) for r in state.deployments.versions(name)]
    return DeploymentDetail(**record.model_dump(), versions=versions)


@router.post(
    "/{name}/invoke",
    responses={**responses(401, 403, 404, 409), **_INVOKE_ANSWERS},
)
def invoke(name: Name, body: InvokeRequest, state: State, principal: Operator) -> JSONResponse:
    """Call the running version with the inputs; the body is the deployment's envelope
    (200 success, 422 inputs that do not validate, 502 another error; 409 when it is
    not running or cannot be reached)."""
    envelope = state.deployments.invoke(name, body.inputs)
    return JSONResponse(envelope, envelope_status(envelope))


@router.get(
    "/{name}/logs", response_model=DeploymentLogs, responses=responses(401, 403, 404, 409, 422)
)
def logs(name: Name, state: State, principal: Operator) -> DeploymentLogs:
    """The running version's logs (their tail)."""
    return DeploymentLogs(logs=state.deployments.logs(name))


@router.post(
    "/{name}/stop", response_model=DeploymentInfo, responses=responses(401, 403, 404, 409, 422)
)
def stop(name: Name, state: State, principal: Operator) -> DeploymentInfo:
    """Stop the running version (its record becomes ``stopped``; one not running is
    answered as it is)."""
    return deployment_info(state.deployments.stop(name))


@router.post(
    "/{name}/rollback",
    response_model=DeploymentInfo,
    responses=responses(401, 403, 404, 409, 422),
)
def rollback(
    name: Name, state: State, principal: Operator, body: RollbackRequest | None = None
) -> DeploymentInfo:
    """Start a previous version again from its snapshot (default: the newest older one
    that ran); the current version keeps running if it fails (409)."""
    version = body.version if body is not None else None
    with _as_field("version"):
        return deployment_info(state.deployments.rollback(name, version))
