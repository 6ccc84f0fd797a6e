"""The client's one core: every endpoint as a :class:`Call` (method, path, query, body,
and how to read the answer). :class:`~hoist.client.HoistClient` and
:class:`~hoist.client.AsyncHoistClient` only send calls; neither knows a path."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from hoist.client.errors import error_from_response
from hoist.errors import HoistError, ParamsValidationError
from hoist.runs import models
from hoist.runs.models import EventBase, Run

__all__ = ["API", "Call", "IngestCounts", "is_terminal", "parse_event", "parse_run"]

T = TypeVar("T")
API = "/api/v1"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the function that turns its successful response into ``T``."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | Iterable[bytes] | None = None
    """The body: bytes, or an iterable of chunks (streamed; the sync client only)."""
    refusal: Callable[[httpx.Response], HoistError] = error_from_response
    """The Hoist error of an error response (the common mapping, unless a call's
    endpoint says more)."""

    def finish(self, response: httpx.Response) -> T:
        """``read(response)``, or the Hoist error an error status maps to."""
        if response.status_code >= 400:
            raise self.refusal(response)
        return self.read(response)


@dataclass(frozen=True)
class IngestCounts:
    """How many posted runs and events were new."""

    runs_added: int
    events_added: int


def parse_run(data: Any) -> Run:
    """A run from its JSON form (validated: pydantic loads on the first one)."""
    run: Run = models.RUN_ADAPTER.validate_python(data)
    return run


def parse_event(data: Any) -> Any:
    """An event (the right class for its ``type``) from its JSON form (validated)."""
    return models.EVENT_ADAPTER.validate_python(data)


def is_terminal(event: Any) -> bool:
    """True for the status event that ends a run."""
    return bool(event.type == "status" and event.status.is_terminal)


def _json(response: httpx.Response) -> Any:
    return response.json()


def _none(response: httpx.Response) -> None:
    return None


def _seg(value: str) -> str:
    return quote(value, safe="")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# ---------------------------------------------------------------------------- system
def health() -> Call[dict[str, Any]]:
    return Call("GET", f"{API}/health", _json)


def ready() -> Call[bool]:
    return Call("GET", f"{API}/ready", lambda r: r.status_code == 200)


def metrics() -> Call[str]:
    return Call("GET", "/metrics", lambda r: r.text)


# ---------------------------------------------------------------------------- auth
def login(username: str, password: str) -> Call[dict[str, Any]]:
    return Call("POST", f"{API}/auth/login", _json, json={"username": username,
                                                          "password": password})  # fmt: skip


def logout() -> Call[None]:
    return Call("POST", f"{API}/auth/logout", _none)


def me() -> Call[dict[str, Any]]:
    return Call("GET", f"{API}/auth/me", _json)


# ---------------------------------------------------------------------------- users
def list_users() -> Call[list[dict[str, Any]]]:
    return Call("GET", f"{API}/users", _json)


def create_user(username: str, role: str, password: str | None) -> Call[dict[str, Any]]:
    body = _drop_none({"username": username, "role": role, "password": password})
    return Call("POST", f"{API}/users", _json, json=body)


def get_user(user_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"{API}/users/{_seg(user_id)}", _json)


def update_user(user_id: str, changes: Mapping[str, Any]) -> Call[dict[str, Any]]:
    return Call("PATCH", f"{API}/users/{_seg(user_id)}", _json, json=_drop_none(changes))


def deactivate_user(user_id: str) -> Call[dict[str, Any]]:
    return Call("POST", f"{API}/users/{_seg(user_id)}/deactivate", _json)


def delete_user(user_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/users/{_seg(user_id)}", _none)


# ---------------------------------------------------------------------------- tokens
def create_token(
    name: str, expires_in_days: float | None, user_id: str | None
) -> Call[dict[str, Any]]:
    body = _drop_none({"name": name, "expires_in_days": expires_in_days, "user_id": user_id})
    return Call("POST", f"{API}/tokens", _json, json=body)


def list_tokens(all_users: bool) -> Call[list[dict[str, Any]]]:
    return Call("GET", f"{API}/tokens", _json, params={"all": "true" if all_users else "false"})


def revoke_token(token_id: str) -> Call[None]:
    return Call("DELETE", f"{API}/tokens/{_seg(token_id)}", _none)


# ---------------------------------------------------------------------------- plugins
def list_plugins() -> Call[list[dict[str, Any]]]:
    return Call("GET", f"{API}/plugins", _json)


def get_plugin(code: str) -> Call[dict[str, Any]]:
    return Call("GET", f"{API}/plugins/{_seg(code)}", _json)


def get_action(code: str, action: str) -> Call[dict[str, Any]]:
    return Call("GET", f"{API}/plugins/{_seg(code)}/actions/{_seg(action)}", _json)


# ---------------------------------------------------------------------------- runs
def list_runs(
    status: Sequence[str] | None,
    kind: str | None,
    parent: str | None,
    plugin: str | None,
    action: str | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
) -> Call[list[Run]]:
    page = list_runs_page(status, kind, parent, plugin, action, limit, offset, cursor)
    return Call("GET", page.path, lambda r: page.read(r)[0], params=page.params)


def list_runs_page(
    status: Sequence[str] | None,
    kind: str | None,
    parent: str | None,
    plugin: str | None,
    action: str | None,
    limit: int,
    offset: int = 0,
    cursor: str | None = None,
) -> Call[tuple[list[Run], str | None]]:
    """A page of runs and its ``next`` cursor (``None`` after the last page)."""
    params = _drop_none({"status": list(status) if status else None, "kind": kind,
                         "parent": parent, "plugin": plugin, "action": action,
                         "limit": limit, "offset": offset or None, "cursor": cursor})  # fmt: skip

    def read(response: httpx.Response) -> tuple[list[Run], str | None]:
        body = response.json()
        return [parse_run(x) for x in body["runs"]], body.get("next")

    return Call("GET", f"{API}/runs", read, params=params)


def get_run(run_id: str) -> Call[Run]:
    return Call("GET", f"{API}/runs/{_seg(run_id)}", lambda r: parse_run(r.json()))


def launch(
    plugin: str,
    action: str | None,
    pipeline: str | None,
    params: Mapping[str, Any] | None,
    mode: str | None,
) -> Call[str]:
    body = _drop_none({"plugin": plugin, "action": action, "pipeline": pipeline,
                       "params": dict(params or {}), "mode": mode})  # fmt: skip
    return Call("POST", f"{API}/runs", lambda r: str(r.json()["run_id"]), json=body)


def cancel(run_id: str) -> Call[dict[str, Any]]:
    return Call("POST", f"{API}/runs/{_seg(run_id)}/cancel", _json)


def resume(
    run_id: str, params: Mapping[str, Any] | None, allow_param_changes: bool, force: bool
) -> Call[str]:
    body = {"params": None if params is None else dict(params),
            "allow_param_changes": allow_param_changes, "force": force}  # fmt: skip
    return Call("POST", f"{API}/runs/{_seg(run_id)}/resume", lambda r: str(r.json()["run_id"]),
                json=body)  # fmt: skip


def events_page(run_id: str, after: int, limit: int) -> Call[tuple[list[Any], bool]]:
    def read(response: httpx.Response) -> tuple[list[Any], bool]:
        data = response.json()
        return [parse_event(e) for e in data["events"]], bool(data["has_more"])

    return Call("GET", f"{API}/runs/{_seg(run_id)}/events", read,
                params={"after": after, "limit": limit})  # fmt: skip


def stream_events(run_id: str, last_seq: int) -> Call[None]:
    headers = {"Accept": "text/event-stream", "Last-Event-ID": str(last_seq)}
    return Call("GET", f"{API}/runs/{_seg(run_id)}/events/stream", _none, headers=headers)


def stream_runs() -> Call[None]:
    return Call("GET", f"{API}/runs/stream", _none, headers={"Accept": "text/event-stream"})


def list_artifacts(run_id: str) -> Call[list[dict[str, Any]]]:
    return Call("GET", f"{API}/runs/{_seg(run_id)}/artifacts", _json)


def put_artifact(
    run_id: str, path: str, data: bytes | Iterable[bytes], size: int | None = None
) -> Call[dict[str, Any]]:
    """``data``: the bytes, or their chunks (``size`` then gives their total length, sent
    as ``Content-Length`` so an over-size body is refused before it is sent)."""
    quoted = quote(path, safe="/")
    headers = {"Content-Type": "application/octet-stream"}
    if size is not None:
        headers["Content-Length"] = str(size)
    return Call("PUT", f"{API}/runs/{_seg(run_id)}/artifacts/{quoted}", _json, content=data,
                headers=headers)  # fmt: skip


def delete_artifact(run_id: str, path: str) -> Call[None]:
    quoted = "/".join(_seg(part) for part in path.split("/"))
    return Call("DELETE", f"{API}/runs/{_seg(run_id)}/artifacts/{quoted}", _none)


def get_artifact(run_id: str, path: str) -> Call[bytes]:
    quoted = "/".join(_seg(part) for part in path.split("/"))
    return Call("GET", f"{API}/runs/{_seg(run_id)}/artifacts/{quoted}", lambda r: r.content)


def ingest(runs: Sequence[Run], events: Sequence[EventBase]) -> Call[IngestCounts]:
    body = {"runs": [r.to_dict() for r in runs], "events": [e.to_dict() for e in events]}

    def read(response: httpx.Response) -> IngestCounts:
        data = response.json()
        return IngestCounts(int(data["runs_added"]), int(data["events_added"]))

    return Call("POST", f"{API}/ingest", read, json=body, refusal=_ingest_refusal)


def _ingest_refusal(response: httpx.Response) -> HoistError:
    """An ingest refusal: a 404 naming events of unknown runs (``errors``) is a
    :class:`~hoist.errors.ParamsValidationError` with those field errors, as the other
    bad items of a batch (422) are; the rest as any call's."""
    if response.status_code == 404:
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        if isinstance(errors, dict):
            return ParamsValidationError(errors, subject="batch")
    return error_from_response(response)
