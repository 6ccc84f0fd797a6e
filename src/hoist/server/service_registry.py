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
import logging
import threading
import time
from collections.abc import Iterable

import anyio.to_thread
import httpx
import sqlalchemy as sa

from hoist.server.service_discovery import DiscoveryError, discover
from hoist.server.service_models import ServiceExistsError, ServiceInfo, ServiceNotFoundError
from hoist.server.service_rows import LOCAL, ServiceRows

__all__ = ["LOCAL", "ServiceRegistry"]

_log = logging.getLogger("hoist.server")
_PASS = 5.0  # seconds between the refresher's passes when nothing wakes it


class ServiceRegistry(ServiceRows):
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

    def add(self, url: str) -> ServiceInfo:
        """Register ``url`` (status ``pending``; read in the background at once).

        A service listed local at ``url`` (:meth:`list_local`) becomes a registered one:
        same id, the registered source, status ``pending`` and read at once (the endpoints
        last found are kept); its process's exit no longer takes it out.

        Raises:
            ParamsValidationError: ``url`` is not an http(s) URL.
            ServiceExistsError: it is registered already.
        """
        service_id = self.insert_registered(url)
        self.refresh(service_id)
        return self.get(service_id)

    def remove(self, service_id: str) -> None:
        """Forget a service (and its place in the refresh).

        Raises:
            ServiceNotFoundError: none has that id.
        """
        super().remove(service_id)
        with self._lock:
            self._due.pop(service_id, None)
            self._failures.pop(service_id, None)

    def refresh(self, service_id: str) -> None:
        """Read the service again now, in the background (the next pass picks it up)."""
        with self._lock:
            self._due[service_id] = 0.0
        self._poke()

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
