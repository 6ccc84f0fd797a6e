"""The Hoist server's registry of agent services.

A service is registered by its URL (an OpenAPI document or Ray Serve's ``/-/routes``,
see :mod:`~hoist.server.service_discovery`) and stored at once with status ``pending``
in the run store's ``services`` table. A background task of the app's lifespan reads
each service's URL with short timeouts and stores what it found: ``ok`` with its
endpoints, or ``unreachable`` with the error (the endpoints last found are kept). Every
service is read again every ``refresh_interval`` seconds; an unreachable one sooner,
with a backoff that doubles up to ``max_backoff``; a ``pending`` one on the next pass.
Each read is a task of its own (``concurrency``, the cap on reads in flight, is far
above any realistic count of services, and the HTTP client has no pool limit), so a
service that hangs delays no other: it only holds its own read until the timeout.
Start-up, the API and the panel never wait on a read: they answer from the store.

**Local services** list themselves: ``hoist service run`` (on the same store) adds its
OpenAPI URL with source ``local`` when it starts listening (:meth:`ServiceRegistry.list_local`)
and takes it out when it exits (:meth:`ServiceRegistry.unlist_local`); the servers read
it like any other, so one whose process died shows ``unreachable``. No registration step.
Registering a URL listed local (:meth:`ServiceRegistry.add`, the API, the panel) makes it
a registered service: it keeps its id, takes the registered source and is read again at
once, answering as a fresh registration does; from then on it outlives the process (its
exit no longer takes it out, a dead one shows ``unreachable``) until it is removed.

Several servers sharing one store each refresh every service (each finds the same);
the registry picks up services another server added on its next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import sqlalchemy as sa

from hoist.runs.store.schema import services
from hoist.server.service_discovery import Discovered, DiscoveryError, discover
from hoist.server.service_models import (
    ServiceEndpoint,
    ServiceExistsError,
    ServiceInfo,
    ServiceNotFoundError,
    check_service_url,
    source_of,
)

__all__ = ["LOCAL", "ServiceRegistry"]

_log = logging.getLogger("hoist.server")
_PASS = 5.0  # seconds between the refresher's passes when nothing wakes it
LOCAL = "local"
"""The ``source`` of a service ``hoist service run`` listed (an OpenAPI URL)."""


def _info(row: Any) -> ServiceInfo:
    return ServiceInfo(
        id=row.id, name=row.name, url=row.url, source=row.source, status=row.status,
        error=row.error, checked_at=row.checked_at,
        endpoints=[ServiceEndpoint(**e) for e in json.loads(row.endpoints)],
    )  # fmt: skip


class ServiceRegistry:
    """The registered and local services (in the store) and their background refresh.

    Args:
        engine: the run store's engine (its ``services`` table).
        connect_timeout: seconds to connect to a service.
        read_timeout: seconds to wait for a service's answer.
        refresh_interval: seconds between reads of a service that answered.
        max_backoff: the longest wait before reading an unreachable service again.
        concurrency: reads in flight at once (a safety cap far above any realistic
            count of services: a service that hangs must not delay another's read).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        connect_timeout: float = 2.0,
        read_timeout: float = 5.0,
        refresh_interval: float = 300.0,
        max_backoff: float = 300.0,
        concurrency: int = 1000,
    ) -> None:
        self.engine = engine
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.refresh_interval = refresh_interval
        self.max_backoff = max_backoff
        self.concurrency = concurrency
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._due: dict[str, float] = {}  # service id -> monotonic time of its next read
        self._failures: dict[str, int] = {}
        self._reading: dict[str, asyncio.Task[None]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the store
    def all(self) -> list[ServiceInfo]:
        """Every registered and local service, by name."""
        query = sa.select(services).order_by(services.c.name, services.c.url)
        with self.engine.connect() as conn:
            return [_info(row) for row in conn.execute(query)]

    def get(self, service_id: str) -> ServiceInfo:
        """One service.

        Raises:
            ServiceNotFoundError: none has that id.
        """
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(services).where(services.c.id == service_id)).first()
        if row is None:
            raise ServiceNotFoundError(service_id)
        return _info(row)

    def add(self, url: str) -> ServiceInfo:
        """Register ``url`` (status ``pending``; read in the background at once).

        A service listed local at ``url`` (:meth:`list_local`) becomes a registered one:
        same id, the registered source, status ``pending`` and read at once (the endpoints
        last found are kept); its process's exit no longer takes it out.

        Raises:
            ParamsValidationError: ``url`` is not an http(s) URL.
            ServiceExistsError: it is registered already.
        """
        url = check_service_url(url)
        for _ in range(3):  # the row may come and go between the insert and the update
            service_id = secrets.token_hex(8)
            row = {
                "id": service_id, "url": url, "name": urlsplit(url).netloc,
                "source": source_of(url), "status": "pending", "error": None,
                "checked_at": None, "endpoints": "[]", "created_at": time.time(),
            }  # fmt: skip
            try:
                with self.engine.begin() as conn:
                    conn.execute(services.insert().values(**row))
            except sa.exc.IntegrityError:
                adopted = self._register_local(url)
                if adopted is None:
                    existing = self._id_of(url)
                    if existing is None:
                        continue  # unlisted or removed meanwhile: insert again
                    raise ServiceExistsError(url, existing) from None
                service_id = adopted
            self.refresh(service_id)
            return self.get(service_id)
        raise ServiceExistsError(url, self._id_of(url) or "?")

    def _register_local(self, url: str) -> str | None:
        """Make the service listed local at ``url`` a registered one; its id, or ``None``
        when none is listed local there. The update and :meth:`unlist_local`'s delete both
        require source ``local``: of a registration and an exit at once, either the exit
        goes first (the registration then inserts afresh) or it finds the row registered."""
        with self.engine.begin() as conn:
            service_id: str | None = conn.execute(
                sa.select(services.c.id).where(services.c.url == url, services.c.source == LOCAL)
            ).scalar()
            if service_id is None:
                return None
            done = conn.execute(
                services.update()
                .where(services.c.id == service_id, services.c.source == LOCAL)
                .values(source=source_of(url), status="pending", error=None, checked_at=None)
            ).rowcount
        return service_id if done else None

    def list_local(self, url: str, name: str | None = None) -> tuple[ServiceInfo, bool]:
        """List the service ``hoist service run`` serves at ``url`` (its OpenAPI URL):
        source ``local``, status ``pending`` (the servers read it on their next pass).
        One listed local at ``url`` before (a process that died) is listed again.

        Returns:
            the service as stored, and whether it is this process's listing (``False``:
            ``url`` is registered already, and stays as it is).

        Raises:
            ParamsValidationError: ``url`` is not a service URL.
        """
        url = check_service_url(url)
        fresh = {"status": "pending", "error": None, "checked_at": None,
                 "name": (name or urlsplit(url).netloc)[:200]}  # fmt: skip
        for _ in range(2):  # an insert that loses a race to another process updates
            service_id = self._id_of(url)
            if service_id is not None:
                with self.engine.begin() as conn:
                    mine = conn.execute(
                        services.update()
                        .where(services.c.id == service_id, services.c.source == LOCAL)
                        .values(**fresh)
                    ).rowcount
                return self.get(service_id), bool(mine)
            service_id = secrets.token_hex(8)
            row = {"id": service_id, "url": url, "source": LOCAL, "endpoints": "[]",
                   "created_at": time.time(), **fresh}  # fmt: skip
            try:
                with self.engine.begin() as conn:
                    conn.execute(services.insert().values(**row))
            except sa.exc.IntegrityError:
                continue
            return self.get(service_id), True
        raise ServiceExistsError(url, self._id_of(url) or "?")

    def unlist_local(self, service_id: str) -> bool:
        """Take out a service :meth:`list_local` listed (its process exits); nothing if
        it is gone or is not a local one (registered since: it stays).

        Returns:
            whether it was taken out.
        """
        with self.engine.begin() as conn:
            gone: int = conn.execute(
                services.delete().where(services.c.id == service_id, services.c.source == LOCAL)
            ).rowcount
        return bool(gone)

    def remove(self, service_id: str) -> None:
        """Forget a service.

        Raises:
            ServiceNotFoundError: none has that id.
        """
        with self.engine.begin() as conn:
            gone = conn.execute(services.delete().where(services.c.id == service_id)).rowcount
        if not gone:
            raise ServiceNotFoundError(service_id)
        with self._lock:
            self._due.pop(service_id, None)
            self._failures.pop(service_id, None)

    def refresh(self, service_id: str) -> None:
        """Read the service again now, in the background (the next pass picks it up)."""
        with self._lock:
            self._due[service_id] = 0.0
        self._poke()

    def find_by_origin(self, url: str) -> ServiceInfo | None:
        """The registered service at the same scheme, host and port as ``url`` (a run's
        ``meta.service.url``), or ``None``."""
        origin = _origin(url)
        for service in self.all():
            if _origin(service.url) == origin:
                return service
        return None

    def _id_of(self, url: str) -> str | None:
        with self.engine.connect() as conn:
            found: str | None = conn.execute(
                sa.select(services.c.id).where(services.c.url == url)
            ).scalar()
        return found

    def _save(self, service_id: str, found: Discovered | None, error: str | None) -> None:
        values: dict[str, Any] = {"checked_at": time.time()}
        if found is not None:
            endpoints = [e.as_json() for e in found.endpoints]
            source = sa.case((services.c.source == LOCAL, LOCAL), else_=found.source)
            values.update(
                status="ok", error=None, name=found.name[:200], source=source,
                endpoints=json.dumps(endpoints),
            )  # fmt: skip
        else:
            values.update(status="unreachable", error=error)
        with self.engine.begin() as conn:
            conn.execute(services.update().where(services.c.id == service_id).values(**values))

    def _ids(self) -> dict[str, str]:
        """Every service's id and status."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(services.c.id, services.c.status))
            return {row.id: row.status for row in rows}

    # ------------------------------------------------------------------ calls out
    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client reads and forwarded calls go through (short timeouts; no cap on
        connections, so services that hang hold no pool slot another call waits for)."""
        if self._client is None:
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=20)
            self._client = httpx.AsyncClient(
                timeout=self.timeout, limits=limits, follow_redirects=False
            )
        return self._client

    async def read(self, service_id: str) -> ServiceInfo:
        """Read one service's URL now and store what was found; the service as stored."""
        service = await anyio.to_thread.run_sync(self.get, service_id)
        try:
            found = await discover(self.client, service.url)
        except DiscoveryError as exc:
            await anyio.to_thread.run_sync(self._save, service_id, None, exc.message)
            failed = True
        else:
            await anyio.to_thread.run_sync(self._save, service_id, found, None)
            failed = False
        self._schedule(service_id, failed)
        return await anyio.to_thread.run_sync(self.get, service_id)

    def _schedule(self, service_id: str, failed: bool) -> None:
        with self._lock:
            if failed:
                count = self._failures[service_id] = self._failures.get(service_id, 0) + 1
                wait = min(self.max_backoff, 2.0**count)
            else:
                self._failures.pop(service_id, None)
                wait = self.refresh_interval
            self._due[service_id] = time.monotonic() + wait

    # ------------------------------------------------------------------ background
    def start(self, register: Iterable[str] = ()) -> None:
        """Start refreshing on the running event loop; ``register`` (URLs) are added
        first, in the background (one registered already is only read again)."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = self._loop.create_task(self._run(list(register)), name="hoist-services")

    async def stop(self) -> None:
        """Stop refreshing (reads in flight are cancelled) and close the client."""
        task, self._task = self._task, None
        reading = list(self._reading.values())
        for pending in [task, *reading]:
            if pending is not None:
                pending.cancel()
        for pending in [task, *reading]:
            if pending is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                wake.set()
                return
        except RuntimeError:
            pass  # called from a worker thread (a sync route)
        loop.call_soon_threadsafe(wake.set)

    async def _run(self, register: list[str]) -> None:
        for url in register:
            await anyio.to_thread.run_sync(self._register_quietly, url)
        limit = asyncio.Semaphore(self.concurrency)
        assert self._wake is not None
        while True:
            try:
                ids = await anyio.to_thread.run_sync(self._ids)
            except Exception as exc:  # the store may be down for a while: retry later
                _log.warning("reading the registered services failed, will retry: %s", exc)
                ids = None
            now = time.monotonic()
            with self._lock:
                if ids is not None:
                    for gone in self._due.keys() - ids.keys():  # removed, by any server
                        self._due.pop(gone, None)
                        self._failures.pop(gone, None)
                for service_id, status in (ids or {}).items():
                    if status == "pending" and service_id not in self._reading:
                        self._due[service_id] = 0.0  # new, or listed again: read at once
                    self._due.setdefault(service_id, 0.0)  # new here: read at once
                due = [i for i in ids or () if self._due[i] <= now and i not in self._reading]
                upcoming = [t for i, t in self._due.items() if i not in self._reading]
            for service_id in due:
                self._reading[service_id] = asyncio.create_task(self._read(service_id, limit))
            wait = min([_PASS, *(t - now for t in upcoming if t > now)])
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.01, wait))

    async def _read(self, service_id: str, limit: asyncio.Semaphore) -> None:
        try:
            async with limit:
                await self.read(service_id)
        except ServiceNotFoundError:
            with self._lock:
                self._due.pop(service_id, None)
        except Exception as exc:  # the store failed: try again later
            _log.warning("refreshing service %s failed: %s", service_id, exc)
            self._schedule(service_id, True)
        finally:
            self._reading.pop(service_id, None)
            self._poke()  # its next time may be the nearest

    def _register_quietly(self, url: str) -> None:
        try:
            self.add(url)
        except ServiceExistsError as exc:
            self.refresh(exc.service_id)
        except Exception as exc:
            _log.warning("registering %s failed: %s", url, exc)


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return ("", "", None)
    return (parts.scheme, (parts.hostname or "").lower(), port)
