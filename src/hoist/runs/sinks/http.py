"""A sink for remote workers that cannot reach the database: runs and events are
posted to a Hoist server's ``POST /api/v1/ingest`` by the one
:class:`~hoist.runs.sinks.writer.BatchWriter`, with a *worker token*
(``hoist tokens create USER --worker``): the runs the sink creates are that token's,
and only it may post their events.

Delivery is at-least-once on the wire and exactly-once in the store: a batch whose post
fails (the server is down, a 5xx, the answer lost on the way back) is kept and posted
again, unchanged, with a growing pause; the server ignores what it already stored
(ingest is idempotent on the run id and on ``(run_id, seq)``). Nothing is lost for a
transient failure. A batch the server refuses for good (400, 413, 422, 409: an event
for a run that ended meanwhile, e.g. one the server marked ``lost``, or 404 naming
events of a run the server does not know) is halved until the items at fault are found
and set aside; a refusal of the worker itself (401, 403: not a worker token, or a run
another worker created), or a 404 naming no item (no ingest endpoint at that address),
sets the batch aside whole. Either way the next :meth:`HttpSink.flush` raises.

Each post also lists the runs still executing here (``alive``); the answer names those
whose cancellation was asked, which :meth:`HttpSink.is_cancel_requested` then reports.
When no event is waiting, an empty batch is posted every ``poll_interval`` seconds: it
heartbeats the live runs (so the server does not mark them ``lost``) and reads their
cancel flags.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from typing import Any

from hoist.errors import MissingExtraError
from hoist.runs.models import EVENT_ADAPTER, RUN_ADAPTER, EventBase, Run
from hoist.runs.sinks.writer import BatchWriter

__all__ = ["HttpSink"]

_MAX_RUNS, _MAX_EVENTS = 1000, 10_000  # what the server accepts in one batch
_SPLITTABLE = frozenset({400, 404, 409, 413, 422})  # refusals that may come from some items only


class _RunJson(bytes):
    """A run's JSON (an event's is plain ``bytes``)."""


class _Body:
    """Encoded runs and events, posted (and re-posted) as one body."""

    __slots__ = ("events", "runs")

    def __init__(self) -> None:
        self.runs: list[bytes] = []
        self.events: list[bytes] = []

    def render(self, alive: Sequence[str]) -> bytes:
        return b"".join((b'{"runs":[', b",".join(self.runs), b'],"events":[',
                         b",".join(self.events), b'],"alive":',
                         json.dumps(list(alive)[:_MAX_RUNS]).encode(), b"}"))  # fmt: skip


class _Refused(Exception):
    """The server answered an error status."""

    def __init__(self, status: int, text: str, *, names_items: bool = False) -> None:
        super().__init__(f"{status} {text}")
        self.status = status
        self.names_items = names_items
        """Whether the answer names the items at fault (field ``errors``)."""


class HttpSink(BatchWriter):
    """Batches runs and events to a Hoist server's ingest endpoint.

    Args:
        server_url: the server, e.g. ``http://hoist.internal:8465``.
        token: a worker token of an operator (or admin) account.
        interval: longest time (s) an event waits before it is posted.
        batch_bytes: a batch is cut before its body passes this size (stay under the
            server's request limit, 1 MiB by default).
        poll_interval: seconds between heartbeats (and cancel-flag reads) while runs
            are live and no event is waiting.
        max_backoff: longest pause (s) between two attempts to post a failed batch.
        timeout: seconds for one post.
        max_tries: posts of a batch the server refuses before it is halved (or set
            aside).

    Raises:
        MissingExtraError: ``httpx`` (the ``server`` extra) is not installed.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        interval: float = 0.02,
        batch_bytes: int = 768 * 1024,
        poll_interval: float = 0.5,
        max_backoff: float = 5.0,
        timeout: float = 10.0,
        max_tries: int = 3,
    ) -> None:
        if importlib.util.find_spec("httpx") is None:
            raise MissingExtraError("server", "httpx")
        import httpx

        self.server_url = server_url.rstrip("/")
        self.target = f"the Hoist server at {self.server_url}"
        self.batch_bytes = batch_bytes
        self.poll_interval = poll_interval
        self.posts = 0
        """Posts answered by the server (a test's view of the wire)."""
        self._http = httpx.Client(
            base_url=self.server_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        super().__init__(
            interval=interval,
            max_items=_MAX_EVENTS,
            heartbeat_interval=poll_interval,
            cancel_poll_interval=poll_interval,
            max_backoff=max_backoff,
            max_tries=max_tries,
        )

    # ------------------------------------------------------------------ backend
    def _encode_run(self, run: Run) -> bytes:
        return _RunJson(RUN_ADAPTER.dump_json(run))

    def _encode_event(self, event: EventBase) -> bytes:
        return EVENT_ADAPTER.dump_json(event)

    def _prepare(self, units: list[Any]) -> tuple[_Body, int]:
        body = _Body()
        size = taken = 0
        for data in units:
            if taken and size + len(data) > self.batch_bytes:
                break
            if type(data) is _RunJson:
                if len(body.runs) == _MAX_RUNS:
                    break
                body.runs.append(data)
            else:
                body.events.append(data)
            size += len(data) + 1
            taken += 1
        return body, taken

    def _write(self, payload: _Body, live: Sequence[str]) -> frozenset[str]:
        return self._post(payload.render(live))

    def _heartbeat(self, run_ids: Sequence[str]) -> frozenset[str]:
        return self._post(_Body().render(run_ids))

    def _cancel_requested(self, run_ids: Sequence[str]) -> frozenset[str]:
        return self._post(_Body().render(run_ids))

    def _is_transient(self, exc: Exception) -> bool:
        import httpx

        if isinstance(exc, _Refused):  # 5xx, 429, 408: the server may take it later
            return exc.status >= 500 or exc.status in (408, 429)
        return isinstance(exc, httpx.TransportError)  # not reached, or no answer

    def _can_split(self, exc: Exception) -> bool:
        if not isinstance(exc, _Refused) or exc.status not in _SPLITTABLE:
            return False
        # A 404 names the events of unknown runs (``errors``); one without them is no
        # ingest endpoint at that address, which every item would meet alike.
        return exc.status != 404 or exc.names_items

    def _release(self) -> None:
        self._http.close()

    def _post(self, body: bytes) -> frozenset[str]:
        """Post one body; the answer's cancel requests."""
        response = self._http.post("/api/v1/ingest", content=body)
        self.posts += 1
        if response.status_code >= 300:
            raise _Refused(response.status_code, response.text[:500],
                           names_items=_names_items(response))  # fmt: skip
        answer: dict[str, Any] = response.json()
        return frozenset(answer.get("cancel_requested") or ())


def _names_items(response: Any) -> bool:
    """Whether an error answer is a Hoist error body with field ``errors``."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("errors"), dict)
