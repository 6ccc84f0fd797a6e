"""The ``services`` table's rows behind the server's registry of agent services
(:class:`~hoist.server.service_registry.ServiceRegistry`): registered and local services
as the store holds them, with what the background refresh last found. Every read and
change of a row is here; the registry adds the refresh."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from hoist.runs.store.schema import services
from hoist.server.service_discovery import Discovered
from hoist.server.service_models import (
    ServiceEndpoint,
    ServiceExistsError,
    ServiceInfo,
    ServiceNotFoundError,
    check_service_url,
    source_of,
)

__all__ = ["LOCAL", "ServiceRows"]

LOCAL = "local"
"""The ``source`` of a service ``hoist service run`` listed (an OpenAPI URL)."""


def _info(row: Any) -> ServiceInfo:
    return ServiceInfo(
        id=row.id, name=row.name, url=row.url, source=row.source, status=row.status,
        error=row.error, checked_at=row.checked_at,
        endpoints=[ServiceEndpoint(**e) for e in json.loads(row.endpoints)],
    )  # fmt: skip


class ServiceRows:
    """Registered and local services in the run store's ``services`` table."""

    engine: sa.Engine

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

    def insert_registered(self, url: str) -> str:
        """Store ``url`` as a registered service (status ``pending``); its id.

        A service listed local at ``url`` (:meth:`list_local`) becomes a registered one:
        same id, the registered source, status ``pending`` (the endpoints last found are
        kept); its process's exit no longer takes it out.

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
            return service_id
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


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return ("", "", None)
    return (parts.scheme, (parts.hostname or "").lower(), port)
