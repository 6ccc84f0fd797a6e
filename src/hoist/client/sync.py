"""``HoistClient``: the Hoist server's API, synchronously (httpx)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from hoist.client import calls
from hoist.client.base import ClientBase, EventStreamState, run_from_message
from hoist.client.errors import error_from_response
from hoist.client.sse import SSEParser
from hoist.runs.models import EventBase, Run

__all__ = ["HoistClient"]

T = TypeVar("T")
_STREAM_READ_TIMEOUT = 60.0  # the server sends a keep-alive every 15 s


class HoistClient(ClientBase):
    """Every endpoint of the Hoist API. Errors are Hoist errors (see
    :mod:`hoist.client.errors`): 422 → ``ParamsValidationError`` with field errors,
    404 → ``NotFoundError`` (``RunNotFoundError``...), 401 → ``AuthError``,
    403 → ``PermissionDeniedError``.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8465``.
        token: an API token; or call :meth:`login` for a session.
        **options: see :class:`~hoist.client.base.ClientBase`.

    Example::

        with HoistClient("http://127.0.0.1:8465", token=TOKEN) as client:
            run_id = client.launch("sim_train", action="train", params={"epochs": 5})
            for event in client.stream_events(run_id):
                print(event.seq, event.type)
    """

    def __init__(self, base_url: str, token: str | None = None, **options: Any) -> None:
        super().__init__(base_url, token, **options)
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HoistClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, call: calls.Call[T]) -> T:
        """Send one :class:`~hoist.client.calls.Call` and read its answer."""
        response = self._http.request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            content=call.content,
            headers=self._headers(call),
        )
        return call.finish(response)

    # ------------------------------------------------------------------ system, auth
    def health(self) -> dict[str, Any]:
        """The server's liveness answer."""
        return self.send(calls.health())

    def ready(self) -> bool:
        """Whether the server's store is reachable and migrated."""
        return self.send(calls.ready())

    def metrics(self) -> str:
        """The Prometheus exposition text."""
        return self.send(calls.metrics())

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Start a session (cookie + CSRF token kept by this client); returns the user."""
        return self._logged_in(self.send(calls.login(username, password)))

    def logout(self) -> None:
        """End the session (or revoke the API token this client uses)."""
        self.send(calls.logout())
        self.csrf_token = None

    def me(self) -> dict[str, Any]:
        """The caller's account (``user``), how it authenticated (``auth``)."""
        return self.send(calls.me())

    # ------------------------------------------------------------------ users (admin)
    def list_users(self) -> list[dict[str, Any]]:
        """Every account."""
        return self.send(calls.list_users())

    def create_user(
        self, username: str, role: str = "viewer", password: str | None = None
    ) -> dict[str, Any]:
        """A new account: ``{"user": ..., "password": generated or None}``."""
        return self.send(calls.create_user(username, role, password))

    def get_user(self, user_id: str) -> dict[str, Any]:
        """One account."""
        return self.send(calls.get_user(user_id))

    def update_user(
        self,
        user_id: str,
        *,
        role: str | None = None,
        password: str | None = None,
        active: bool | None = None,
    ) -> dict[str, Any]:
        """Change an account's role, password or active flag."""
        changes = {"role": role, "password": password, "active": active}
        return self.send(calls.update_user(user_id, changes))

    def deactivate_user(self, user_id: str) -> dict[str, Any]:
        """Deactivate an account (its sessions and tokens stop working at once)."""
        return self.send(calls.deactivate_user(user_id))

    def delete_user(self, user_id: str) -> None:
        """Delete an account."""
        self.send(calls.delete_user(user_id))

    # ------------------------------------------------------------------ tokens
    def create_token(
        self, name: str, *, expires_in_days: float | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        """A new API token: ``{"info": ..., "token": secret shown only now}``."""
        return self.send(calls.create_token(name, expires_in_days, user_id))

    def list_tokens(self, *, all_users: bool = False) -> list[dict[str, Any]]:
        """The caller's tokens (admins: everyone's with ``all_users``)."""
        return self.send(calls.list_tokens(all_users))

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token."""
        self.send(calls.revoke_token(token_id))

    # ------------------------------------------------------------------ plugins
    def list_plugins(self) -> list[dict[str, Any]]:
        """The plugins the server can launch."""
        return self.send(calls.list_plugins())

    def get_plugin(self, code: str) -> dict[str, Any]:
        """A plugin with its actions' params and result schemas."""
        return self.send(calls.get_plugin(code))

    def get_action(self, code: str, action: str) -> dict[str, Any]:
        """One action's description and schemas."""
        return self.send(calls.get_action(code, action))

    # ------------------------------------------------------------------ runs
    def list_runs(
        self,
        *,
        status: Sequence[str] | None = None,
        kind: str | None = None,
        parent: str | None = None,
        plugin: str | None = None,
        action: str | None = None,
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> list[Run]:
        """Runs, newest first, filtered: ``limit`` of them from ``cursor`` (a page's
        ``next``, see :meth:`list_runs_page`) on; ``offset`` only for small offsets."""
        call = calls.list_runs(status, kind, parent, plugin, action, limit, offset, cursor)
        return self.send(call)

    def list_runs_page(
        self,
        *,
        status: Sequence[str] | None = None,
        kind: str | None = None,
        parent: str | None = None,
        plugin: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Run], str | None]:
        """A page of runs, newest first, and the cursor of the next page (``None`` after
        the last): pass it back as ``cursor`` to read on, at any depth for the same cost."""
        call = calls.list_runs_page(status, kind, parent, plugin, action, limit, 0, cursor)
        return self.send(call)

    def get_run(self, run_id: str) -> Run:
        """One run."""
        return self.send(calls.get_run(run_id))

    def launch(
        self,
        plugin: str,
        action: str | None = None,
        *,
        pipeline: str | None = None,
        params: Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> str:
        """Start an action (or a ``pipeline``); returns the run id."""
        return self.send(calls.launch(plugin, action, pipeline, params, mode))

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask a run to stop."""
        return self.send(calls.cancel(run_id))

    def resume(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
    ) -> str:
        """Resume a pipeline run; returns the new run's id."""
        return self.send(calls.resume(run_id, params, allow_param_changes, force))

    def events(self, run_id: str, after: int = 0, limit: int = 1000) -> list[Any]:
        """Every stored event with ``seq > after`` (all pages)."""
        found: list[Any] = []
        while True:
            page, more = self.send(calls.events_page(run_id, after, limit))
            found.extend(page)
            if not more or not page:
                return found
            after = page[-1].seq

    def wait(self, run_id: str) -> Run:
        """Follow the run's stream to its end; returns its final record."""
        for _ in self.stream_events(run_id):
            pass
        return self.get_run(run_id)

    def stream_events(self, run_id: str, after: int = 0) -> Iterator[Any]:
        """The run's events live, from ``seq > after`` until its terminal status event.

        A dropped connection is re-opened with ``Last-Event-ID``: nothing is missed or
        repeated.
        """
        state = EventStreamState(after)
        while not state.done:
            call = calls.stream_events(run_id, state.last_seq)
            try:
                for message in self._messages(call):
                    event = state.accept(message)
                    if event is not None:
                        yield event
                        if state.done:
                            return
                raise httpx.RemoteProtocolError("stream ended before the run did")
            except httpx.TransportError as exc:
                time.sleep(self.retry_delay * state.failed(self.stream_retries, exc))

    def stream_runs(self) -> Iterator[Run]:
        """Every run's status changes, live (runs as they are after each change); a
        dropped connection is re-opened (changes made while it was down are not replayed:
        re-read the list with :meth:`list_runs`)."""
        failures = 0
        while True:
            try:
                for message in self._messages(calls.stream_runs()):
                    failures = 0
                    run = run_from_message(message)
                    if run is not None:
                        yield run
                raise httpx.RemoteProtocolError("the server ended the stream")
            except httpx.TransportError:
                failures += 1
                if failures > self.stream_retries:
                    raise
                time.sleep(self.retry_delay * failures)

    def _messages(self, call: calls.Call[None]) -> Iterator[Any]:
        timeout = httpx.Timeout(self.timeout, read=_STREAM_READ_TIMEOUT)
        with self._http.stream(
            call.method, call.path, headers=self._headers(call), timeout=timeout
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            parser = SSEParser()
            for line in response.iter_lines():
                message = parser.feed(line)
                if message is not None:
                    yield message

    # ------------------------------------------------------------------ files, ingest
    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """Files in the run's folder."""
        return self.send(calls.list_artifacts(run_id))

    def put_artifact(self, run_id: str, path: str, data: bytes) -> dict[str, Any]:
        """Store ``data`` as ``artifacts/<path>`` of a running run; returns its path and size."""
        return self.send(calls.put_artifact(run_id, path, data))

    def delete_artifact(self, run_id: str, path: str) -> None:
        """Delete a file of a running run's folder (``path`` as :meth:`list_artifacts`
        gives it)."""
        return self.send(calls.delete_artifact(run_id, path))

    def get_artifact(self, run_id: str, path: str) -> bytes:
        """A file from the run's folder."""
        return self.send(calls.get_artifact(run_id, path))

    def ingest(self, runs: Sequence[Run], events: Sequence[EventBase]) -> calls.IngestCounts:
        """Post a worker's runs and events (idempotent)."""
        return self.send(calls.ingest(runs, events))
