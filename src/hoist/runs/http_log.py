"""Read runs from a Hoist server: the :class:`~hoist.runs.reader.RunLog` of a process
whose runs are posted to a server (:class:`~hoist.runs.sinks.http.HttpSink` writes them,
this reads them back), such as a remote pipeline's driver and its Ray actor.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any
from urllib.parse import quote

from hoist.errors import MissingExtraError, RunNotFoundError, StoreError
from hoist.runs.models import EVENT_ADAPTER, RUN_ADAPTER, Run
from hoist.runs.reader import RunFilter, cursor_text

__all__ = ["HttpRunLog"]

_API = "/api/v1/runs"
_PAGE_RUNS, _PAGE_EVENTS = 500, 1000  # the most the server answers in one page


class HttpRunLog:
    """A :class:`~hoist.runs.reader.RunLog` over a Hoist server's REST API.

    Args:
        server_url: the server, e.g. ``http://hoist.internal:8465``.
        token: an API token (a viewer's reads; cancelling needs an operator's).
        timeout: seconds for one request.

    Raises:
        MissingExtraError: ``httpx`` (the ``server`` extra) is not installed.
    """

    def __init__(self, server_url: str, token: str | None, *, timeout: float = 10.0) -> None:
        if importlib.util.find_spec("httpx") is None:
            raise MissingExtraError("server", "httpx")
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server_url = server_url.rstrip("/")
        self._http = httpx.Client(base_url=self.server_url, headers=headers, timeout=timeout)
        self._lock = threading.Lock()  # httpx.Client is not documented as thread-safe
        self._cancelled: set[str] = set()

    def _get(self, path: str, run_id: str | None = None, **params: Any) -> Any:
        import httpx

        try:
            with self._lock:
                response = self._http.request("GET", f"{_API}{path}", params=params or None)
        except httpx.TransportError as exc:
            raise StoreError(
                f"the Hoist server at {self.server_url} does not answer: {exc}"
            ) from exc
        if response.status_code == 404 and run_id is not None:
            raise RunNotFoundError(run_id, where=self.server_url)
        if response.status_code >= 400:
            raise StoreError(
                f"the Hoist server at {self.server_url} refused GET {_API}{path} "
                f"({response.status_code}): {response.text[:200]}"
            )
        return response.json()

    def get_run(self, run_id: str) -> Run:
        """The run, or :class:`~hoist.errors.RunNotFoundError`."""
        return RUN_ADAPTER.validate_python(self._get(f"/{quote(run_id, safe='')}", run_id))

    def list_runs(self, flt: RunFilter | None = None) -> list[Run]:
        """Runs matching ``flt``, newest first (read page by page)."""
        flt = flt or RunFilter()
        query: dict[str, Any] = {
            k: v for k, v in (("kind", flt.kind), ("parent", flt.parent_id),
                              ("plugin", flt.plugin), ("action", flt.action)) if v is not None
        }  # fmt: skip
        if flt.status:
            query["status"] = [str(s) for s in flt.status]
        if flt.cursor is not None:
            query["cursor"] = cursor_text(flt.cursor)
        runs: list[Run] = []
        offset = flt.offset  # for the first page only: the next ones follow ``next``
        while len(runs) < flt.limit:
            size = min(_PAGE_RUNS, flt.limit - len(runs))
            body = self._get("", limit=size, offset=offset, **query)
            runs.extend(RUN_ADAPTER.validate_python(r) for r in body["runs"])
            if len(body["runs"]) < size or not body.get("next"):
                break
            offset, query["cursor"] = 0, body["next"]
        return runs

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Any]:
        """The run's events with ``seq > after_seq``, in order."""
        path = f"/{quote(run_id, safe='')}/events"
        found: list[Any] = []
        while limit is None or len(found) < limit:
            size = _PAGE_EVENTS if limit is None else min(_PAGE_EVENTS, limit - len(found))
            page = self._get(path, run_id, after=after_seq, limit=size)
            found.extend(EVENT_ADAPTER.validate_python(e) for e in page["events"])
            if not page["has_more"]:
                break
            after_seq = page["next_after"]
        return found

    def request_cancel(self, run_id: str) -> None:
        """Ask the run to stop at its next cancellation point (no-op once it ended)."""
        import httpx

        try:
            with self._lock:
                response = self._http.post(f"{_API}/{quote(run_id, safe='')}/cancel")
        except httpx.TransportError as exc:
            raise StoreError(
                f"the Hoist server at {self.server_url} does not answer: {exc}"
            ) from exc
        if response.status_code == 404:
            raise RunNotFoundError(run_id, where=self.server_url)
        if response.status_code >= 400 and response.status_code != 409:  # 409: it ended
            raise StoreError(f"the Hoist server refused to cancel run {run_id}: {response.text}")
        self._cancelled.add(run_id)

    def is_cancel_requested(self, run_id: str) -> bool:
        """True once :meth:`request_cancel` asked it through this log (a worker learns of
        every request from its :class:`~hoist.runs.sinks.http.HttpSink`)."""
        return run_id in self._cancelled

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()
