"""What the sync and async clients share: credentials, headers, and the bookkeeping of
a reconnecting event stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hoist.client import calls
from hoist.client.sse import SSEMessage
from hoist.runs.models import Run

__all__ = ["ClientBase", "EventStreamState"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ClientBase:
    """Base URL, bearer token, and the CSRF token of a login session.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8465``.
        token: an API token (``Authorization: Bearer``); or call ``login``.
        timeout: seconds for connecting and for each non-streaming request.
        stream_retries: reconnect attempts in a row before a stream gives up.
        retry_delay: seconds before the first reconnect (grows with each attempt).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        stream_retries: int = 5,
        retry_delay: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.stream_retries = stream_retries
        self.retry_delay = retry_delay
        self.csrf_token: str | None = None

    def _headers(self, call: calls.Call[Any]) -> dict[str, str]:
        headers = dict(call.headers)
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.csrf_token is not None and call.method in _UNSAFE:
            headers["X-CSRF-Token"] = self.csrf_token
        return headers

    def _logged_in(self, data: dict[str, Any]) -> dict[str, Any]:
        token = data.get("csrf_token")
        self.csrf_token = token if isinstance(token, str) else None
        user: dict[str, Any] = data["user"]
        return user


@dataclass
class EventStreamState:
    """Where a reconnecting run-event stream is: the last seq received, failures in a
    row, and whether the run's terminal event arrived."""

    last_seq: int
    failures: int = 0
    done: bool = False

    def accept(self, message: SSEMessage) -> Any:
        """The event in ``message`` (``None`` for other messages); tracks its seq."""
        if not message.data or message.id is None:
            return None  # every run event carries its seq as the message id
        import json

        event = calls.parse_event(json.loads(message.data))
        self.failures = 0
        if message.id is not None and message.id.isdigit():
            self.last_seq = int(message.id)
        if calls.is_terminal(event):
            self.done = True
        return event

    def failed(self, retries: int, exc: BaseException) -> int:
        """Count a broken connection; returns how many in a row (re-raises past ``retries``)."""
        self.failures += 1
        if self.failures > retries:
            raise exc
        return self.failures


def run_from_message(message: SSEMessage) -> Run | None:
    """The run in an all-runs stream message (``None`` for comments and others)."""
    if message.event != "run" or not message.data:
        return None
    import json

    return calls.parse_run(json.loads(message.data))
