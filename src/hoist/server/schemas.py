"""Request and response bodies of the REST API (pydantic models: they make the OpenAPI
document). Runs and events reuse :class:`~hoist.runs.models.Run` and
:data:`~hoist.runs.models.Event`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hoist.executors.modes import EXECUTOR_MODES
from hoist.runs.models import Event, Run
from hoist.server.accounts.models import Role, TokenKind

__all__ = [
    "ID_PATTERN",
    "MAX_SEQ",
    "NAME_PATTERN",
    "ActionInfo",
    "ArtifactInfo",
    "CancelResult",
    "ErrorBody",
    "EventPage",
    "IngestBatch",
    "IngestResult",
    "LaunchRequest",
    "LaunchResult",
    "LoginRequest",
    "LoginResult",
    "PipelineInfo",
    "PluginInfo",
    "ResumeRequest",
    "RunPage",
    "TokenCreate",
    "TokenCreated",
    "TokenInfo",
    "UserCreate",
    "UserCreated",
    "UserInfo",
    "UserUpdate",
]

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,40}$"
"""Run, user and token ids."""
CURSOR_PATTERN = r"^-?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,3})?~[A-Za-z0-9_\-]{1,40}$"
"""A runs list's page cursor (:func:`~hoist.runs.reader.page_cursor`): a run's
``created_at`` and id."""
MAX_OFFSET = 10_000
"""The largest offset of a runs list (API and panel): deeper pages follow a cursor."""
NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,200}$"
"""Plugin codes, action and pipeline names."""
USERNAME_PATTERN = r"^[A-Za-z0-9_.@\-]{1,64}$"
_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # printable: no NUL or control characters
_MODE_PATTERN = "^(?:" + "|".join(re.escape(mode) for mode in EXECUTOR_MODES) + ")$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error response: a message, and per-field messages for invalid input."""

    detail: str = Field(description="What went wrong, for people.")
    errors: dict[str, list[str]] | None = Field(
        None,
        description="Invalid input (422), or a reference to something unknown (404): each "
        "failing field's messages.",
    )
    error_id: str | None = Field(
        None, description="Server errors (500, 503): the id logged with the cause."
    )
    kind: str | None = Field(None, description="Not found (404): what was looked for.")
    name: str | None = Field(None, description="Not found (404): the name looked for.")
    suggestions: list[str] | None = Field(
        None, description="Not found (404): names that exist and are close."
    )


# ---------------------------------------------------------------------------- runs
class LaunchRequest(_Strict):
    """Start an action (``action``) or a pipeline (``pipeline``) of a plugin."""

    plugin: str = Field(pattern=NAME_PATTERN, description="The plugin's code.")
    action: str | None = Field(None, pattern=NAME_PATTERN, description="An action to run.")
    pipeline: str | None = Field(None, pattern=NAME_PATTERN, description="A pipeline to run.")
    params: dict[str, Any] = Field(default_factory=dict, description="The action's params.")
    mode: str | None = Field(
        None,
        pattern=_MODE_PATTERN,
        json_schema_extra={"enum": [*EXECUTOR_MODES, None]},
        description="Executor mode. Default: the action's `method:` in its config.yaml, "
        "else local.",
    )

    # What `_one_target` checks, said in the schema: an action or a pipeline, not both.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["action"], "properties": {"action": {"type": "string"}}},
                {"required": ["pipeline"], "properties": {"pipeline": {"type": "string"}}},
            ]
        },
    )

    @model_validator(mode="after")
    def _one_target(self) -> LaunchRequest:
        if (self.action is None) == (self.pipeline is None):
            raise ValueError("give exactly one of 'action' or 'pipeline'")
        return self


class LaunchResult(BaseModel):
    """A started run (its URL is also in the ``Location`` header)."""

    run_id: str
    status: str
    url: str


class ResumeRequest(_Strict):
    """Resume a pipeline run: finished nodes are skipped."""

    params: dict[str, Any] | None = None
    allow_param_changes: bool = False
    force: bool = Field(False, description="Resume even if the run still looks alive.")


class CancelResult(BaseModel):
    """The run's status when its cancellation was requested."""

    run_id: str
    status: str
    cancel_requested: bool


class RunPage(BaseModel):
    """A page of runs, newest first; ask for the next with ``cursor=next`` (``None``: this
    page is the last)."""

    runs: list[Run]
    limit: int
    offset: int
    next: str | None = None


class EventPage(BaseModel):
    """A page of a run's events; ask for the next with ``after=next_after``."""

    run_id: str
    events: list[Event]
    next_after: int
    has_more: bool


class ArtifactInfo(BaseModel):
    """A file in a run's folder."""

    path: str = Field(description="Relative to the run folder.")
    size: int


MAX_SEQ = 2**31 - 1
"""The largest event ``seq`` (the store's column is a 32-bit integer)."""
_NO_NUL = r"^[^\x00]*$"

# What ingest checks beyond the models (see hoist.server.api.ingest), said in the schema.
_INGEST_RUN = {
    "properties": {
        "id": {"pattern": ID_PATTERN},
        "parent_id": {"pattern": ID_PATTERN},
        "plugin": {"maxLength": 200, "pattern": _NO_NUL},
        "action": {"maxLength": 200, "pattern": _NO_NUL},
        "mode": {"maxLength": 20, "pattern": _NO_NUL},
    }
}
_INGEST_EVENT = {
    "required": ["type"],  # it picks the event's class (each class's own default aside)
    "properties": {"run_id": {"pattern": ID_PATTERN}, "seq": {"minimum": 1, "maximum": MAX_SEQ}},
}


class IngestBatch(_Strict):
    """Runs and events from a remote worker. Posting the same batch twice adds nothing."""

    runs: list[Annotated[Run, Field(json_schema_extra=_INGEST_RUN)]] = Field(
        default_factory=list, max_length=1000
    )
    events: list[Annotated[Event, Field(json_schema_extra=_INGEST_EVENT)]] = Field(
        default_factory=list, max_length=10_000
    )


class IngestResult(BaseModel):
    """How many of the posted runs and events were new."""

    runs_added: int
    events_added: int


# ---------------------------------------------------------------------------- plugins
class ActionInfo(BaseModel):
    """An action with the JSON schemas of its params and result."""

    name: str
    title: str
    description: str
    entrypoint: str
    method: str | None = Field(
        None, description="The config's `method:`: the mode launches use when given none."
    )
    input_type: str | None = None
    output_type: str | None = None
    params_schema: dict[str, Any] | None = None
    result_schema: dict[str, Any] | None = None
    error: str | None = Field(None, description="Why the action could not be loaded.")


class PipelineInfo(BaseModel):
    """A pipeline declared in the plugin's config."""

    name: str
    description: str = ""


class PluginInfo(BaseModel):
    """A plugin; ``actions`` is filled on the plugin's own page."""

    code: str
    name: str
    version: str
    category: str
    description: str
    tags: list[str]
    distribution: str | None = None
    """``<name> <version>`` of the installed package that declares it (an entry point)."""
    action_names: list[str]
    actions: list[ActionInfo]
    pipelines: list[PipelineInfo]


# ---------------------------------------------------------------------------- accounts
class LoginRequest(_Strict):
    """Credentials, in the JSON body only (never in the URL)."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserInfo(BaseModel):
    """An account (without its password)."""

    id: str
    username: str
    role: Role
    active: bool
    created_at: float
    updated_at: float


class LoginResult(BaseModel):
    """The logged-in user, and the CSRF token the session's unsafe requests must send
    (header ``X-CSRF-Token`` or form field ``csrf_token``)."""

    user: UserInfo
    csrf_token: str | None = None
    auth: Literal["session", "token"] = "session"


class UserCreate(_Strict):
    """A new account; without ``password`` one is generated and returned once."""

    username: str = Field(pattern=USERNAME_PATTERN)
    password: str | None = Field(None, min_length=8, max_length=1024)
    role: Role = Role.VIEWER


class UserCreated(BaseModel):
    """The new account, and its password when it was generated (shown only now)."""

    user: UserInfo
    password: str | None = None


class UserUpdate(_Strict):
    """Changes to an account (omitted fields stay)."""

    role: Role | None = None
    password: str | None = Field(None, min_length=8, max_length=1024)
    active: bool | None = None


class TokenCreate(_Strict):
    """A new API token for the caller (or, for admins, for ``user_id``)."""

    name: str = Field(min_length=1, max_length=100, pattern=_TEXT_PATTERN)
    expires_in_days: float | None = Field(None, gt=0, le=3650)
    user_id: str | None = Field(None, pattern=ID_PATTERN)
    kind: TokenKind = Field(
        TokenKind.USER,
        description="`worker`: a remote worker's token, the only kind `/ingest` takes "
        "(for operators and admins).",
    )


class TokenInfo(BaseModel):
    """An API token's record (never the secret)."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None
    expires_at: float | None
    revoked_at: float | None
    kind: TokenKind = TokenKind.USER


class TokenCreated(BaseModel):
    """The new token: ``token`` is the secret, shown only now."""

    info: TokenInfo
    token: str
