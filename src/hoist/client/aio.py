"""``AsyncHoistClient``: the Hoist server's API for asyncio code (httpx); the same
methods as :class:`~hoist.client.HoistClient`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from hoist.client import calls
from hoist.client.base import ClientBase, EventStreamState, run_from_message
from hoist.client.errors import error_from_response
from hoist.client.sse import SSEParser
from hoist.runs.models import EventBase, Run

__all__ = ["AsyncHoistClient"]

T = TypeVar("T")
_STREAM_READ_TIMEOUT = 60.0  # the server sends a keep-alive every 15 s


class AsyncHoistClient(ClientBase):
    """Every endpoint of the Hoist API, async. Errors as for
    :class:`~hoist.client.HoistClient`.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8465``.
        token: an API token; or call :meth:`login` for a session.
        **options: see :class:`~hoist.client.base.ClientBase`.

    Example::

        async with AsyncHoistClient("http://127.0.0.1:8465", token=TOKEN) as client:
            run_id = await client.launch("sim_train", action="train")
            async for event in client.stream_events(run_id):
                print(event.seq, event.type)
    """

    def __init__(self, base_url: str, token: str | None = None, **options: Any) -> None:
        super().__init__(base_url, token, **options)
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncHoistClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, call: calls.Call[T]) -> T:
        """Send one :class:`~hoist.client.calls.Call` and read its answer."""
        response = await self._http.request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            content=call.content,
            headers=self._headers(call),
        )
        return call.finish(response)

    # ------------------------------------------------------------------ system, auth
    async def health(self) -> dict[str, Any]:
        """The server's liveness answer."""
        return await self.send(calls.health())

    async def ready(self) -> bool:
        """Whether the server's store is reachable and migrated."""
        return await self.send(calls.ready())

    async def metrics(self) -> str:
        """The Prometheus exposition text."""
        return await self.send(calls.metrics())

    async def login(self, username: str, password: str) -> dict[str, Any]:
        """Start a session (cookie + CSRF token kept by this client); returns the user."""
        return self._logged_in(await self.send(calls.login(username, password)))

    async def logout(self) -> None:
        """End the session (or revoke the API token this client uses)."""
        await self.send(calls.logout())
        self.csrf_token = None

    async def me(self) -> dict[str, Any]:
        """The caller's account (``user``), how it authenticated (``auth``)."""
        return await self.send(calls.me())

    # ------------------------------------------------------------------ users (admin)
    async def list_users(self) -> list[dict[str, Any]]:
        """Every account."""
        return await self.send(calls.list_users())

    async def create_user(
        self, username: str, role: str = "viewer", password: str | None = None
    ) -> dict[str, Any]:
        """A new account: ``{"user": ..., "password": generated or None}``."""
        return await self.send(calls.create_user(username, role, password))

    async def get_user(self, user_id: str) -> dict[str, Any]:
        """One account."""
        return await self.send(calls.get_user(user_id))

    async def update_user(
        self,
        user_id: str,
        *,
        role: str | None = None,
        password: str | None = None,
        active: bool | None = None,
    ) -> dict[str, Any]:
        """Change an account's role, password or active flag."""
        changes = {"role": role, "password": password, "active": active}
        return await self.send(calls.update_user(user_id, changes))

    async def deactivate_user(self, user_id: str) -> dict[str, Any]:
        """Deactivate an account (its sessions and tokens stop working at once)."""
        return await self.send(calls.deactivate_user(user_id))

    async def delete_user(self, user_id: str) -> None:
        """Delete an account."""
        await self.send(calls.delete_user(user_id))

    # ------------------------------------------------------------------ tokens
    async def create_token(
        self, name: str, *, expires_in_days: float | None = None, user_id: str | None = None
    ) -> dict[str, Any]:
        """A new API token: ``{"info": ..., "token": secret shown only now}``."""
        return await self.send(calls.create_token(name, expires_in_days, user_id))

    async def list_tokens(self, *, all_users: bool = False) -> list[dict[str, Any]]:
        """The caller's tokens (admins: everyone's with ``all_users``)."""
        return await self.send(calls.list_tokens(all_users))

    async def revoke_token(self, token_id: str) -> None:
        """Revoke a token."""
        await self.send(calls.revoke_token(token_id))

    # ------------------------------------------------------------------ plugins
    async def list_plugins(self) -> list[dict[str, Any]]:
        """The plugins the server can launch."""
        return await self.send(calls.list_plugins())

    async def get_plugin(self, code: str) -> dict[str, Any]:
        """A plugin with its actions' params and result schemas."""
        return await self.send(calls.get_plugin(code))

    async def get_action(self, code: str, action: str) -> dict[str, Any]:
        """One action's description and schemas."""
        return await self.send(calls.get_action(code, action))

    # ------------------------------------------------------------------ runs
    async def list_runs(
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
        return await self.send(call)

    async def list_runs_page(
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
        return await self.send(call)

    async def get_run(self, run_id: str) -> Run:
        """One run."""
        return await self.send(calls.get_run(run_id))

    async def launch(
        self,
        plugin: str,
        action: str | None = None,
        *,
        pipeline: str | None = None,
        params: Mapping[str, Any] | None = None,
        mode: str | None = None,
    ) -> str:
        """Start an action (or a ``pipeline``); returns the run id."""
        return await self.send(calls.launch(plugin, action, pipeline, params, mode))

    async def cancel(self, run_id: str) -> dict[str, Any]:
        """Ask a run to stop."""
        return await self.send(calls.cancel(run_id))

    async def resume(
        self,
        run_id: str,
        *,
        params: Mapping[str, Any] | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
    ) -> str:
        """Resume a pipeline run; returns the new run's id."""
        return await self.send(calls.resume(run_id, params, allow_param_changes, force))

    async def events(self, run_id: str, after: int = 0, limit: int = 1000) -> list[Any]:
        """Every stored event with ``seq > after`` (all pages)."""
        found: list[Any] = []
        while True:
            page, more = await self.send(calls.events_page(run_id, after, limit))
            found.extend(page)
            if not more or not page:
                return found
            after = page[-1].seq

    async def wait(self, run_id: str) -> Run:
        """Follow the run's stream to its end; returns its final record."""
        async for _ in self.stream_events(run_id):
            pass
        return await self.get_run(run_id)

    async def stream_events(self, run_id: str, after: int = 0) -> AsyncIterator[Any]:
        """The run's events live, from ``seq > after`` until its terminal status event.

        A dropped connection is re-opened with ``Last-Event-ID``: nothing is missed or
        repeated.
        """
        state = EventStreamState(after)
        while not state.done:
            call = calls.stream_events(run_id, state.last_seq)
            try:
                async for message in self._messages(call):
                    event = state.accept(message)
                    if event is not None:
                        yield event
                        if state.done:
                            return
                raise httpx.RemoteProtocolError("stream ended before the run did")
            except httpx.TransportError as exc:
                await asyncio.sleep(self.retry_delay * state.failed(self.stream_retries, exc))

    async def stream_runs(self) -> AsyncIterator[Run]:
        """Every run's status changes, live (runs as they are after each change); a
        dropped connection is re-opened (changes made while it was down are not replayed:
        re-read the list with :meth:`list_runs`)."""
        failures = 0
        while True:
            try:
                async for message in self._messages(calls.stream_runs()):
                    failures = 0
                    run = run_from_message(message)
                    if run is not None:
                        yield run
                raise httpx.RemoteProtocolError("the server ended the stream")
            except httpx.TransportError:
                failures += 1
                if failures > self.stream_retries:
                    raise
                await asyncio.sleep(self.retry_delay * failures)

    async def _messages(self, call: calls.Call[None]) -> AsyncIterator[Any]:
        timeout = httpx.Timeout(self.timeout, read=_STREAM_READ_TIMEOUT)
        async with self._http.stream(
            call.method, call.path, headers=self._headers(call), timeout=timeout
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise error_from_response(response)
            parser = SSEParser()
            async for line in response.aiter_lines():
                message = parser.feed(line)
                if message is not None:
                    yield message

    # ------------------------------------------------------------------ files, ingest
    async def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """Files in the run's folder."""
        return await self.send(calls.list_artifacts(run_id))

    async def put_artifact(self, run_id: str, path: str, data: bytes) -> dict[str, Any]:
        """Store ``data`` as ``artifacts/<path>`` of a running run; returns its path and size."""
        return await self.send(calls.put_artifact(run_id, path, data))

    async def delete_artifact(self, run_id: str, path: str) -> None:
        """Delete a file of a running run's folder (``path`` as :meth:`list_artifacts`
        gives it)."""
        return await self.send(calls.delete_artifact(run_id, path))

    async def get_artifact(self, run_id: str, path: str) -> bytes:
        """A file from the run's folder."""
        return await self.send(calls.get_artifact(run_id, path))

    async def ingest(self, runs: Sequence[Run], events: Sequence[EventBase]) -> calls.IngestCounts:
        """Post a worker's runs and events (idempotent)."""
        return await self.send(calls.ingest(runs, events))
