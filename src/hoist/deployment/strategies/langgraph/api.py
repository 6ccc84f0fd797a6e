"""`LangGraphAPI`: the LangGraph server API over HTTP (httpx; no ``langgraph_sdk`` in
Hoist's process): threads, runs that are waited for, runs that stream (server-sent
events), and an assistant's input schema."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from hoist.deployment.envelope import error_envelope, http_envelope, success_envelope
from hoist.errors import HoistError, MissingExtraError

__all__ = ["LangGraphAPI", "failure_envelope", "parse_sse"]


class LangGraphAPI:
    """Calls to one LangGraph server (``langgraph dev``, a self-hosted or a cloud one).

    Args:
        url: the server's base URL.
        graph_id: the assistant runs are created on (a graph's id or an assistant's UUID).
        timeout: seconds one call (a whole run) may take.
        api_key: sent as ``x-api-key`` when given (LangSmith deployments).
    """

    def __init__(
        self, url: str, graph_id: str, *, timeout: float, api_key: str | None = None
    ) -> None:
        httpx = _httpx()
        self.url = url.rstrip("/")
        self.graph_id = graph_id
        self.timeout = timeout
        headers = {"x-api-key": api_key} if api_key else {}
        self._client = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def ok(self, timeout: float = 2.0) -> bool:
        """Whether ``GET /ok`` answers 200 (any transport error: False)."""
        try:
            return bool(self._client.get("/ok", timeout=timeout).status_code == 200)
        except Exception:
            return False

    def create_thread(self) -> str:
        """A new thread's id (``POST /threads``).

        Raises:
            httpx.HTTPError: the server failed or answered an error status.
        """
        answer = self._client.post("/threads", json={})
        answer.raise_for_status()
        return str(answer.json()["thread_id"])

    def wait(self, thread_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Run the graph on ``thread_id`` with ``inputs`` and wait for its end
        (``POST /threads/{id}/runs/wait``).

        Returns:
            The envelope: the final state (or the graph's return value) as ``output``; an
            error in the graph as ``{"type": its exception's name, "message": ...}``;
            an error status as ``HTTP <code>`` with the server's ``detail``.
        """
        body = {"assistant_id": self.graph_id, "input": inputs}
        answer = self._client.post(f"/threads/{thread_id}/runs/wait", json=body)
        if not answer.is_success:
            return http_envelope(answer)
        try:
            result = answer.json()
        except ValueError:
            return error_envelope("ServerError", f"not JSON: {answer.text[:500]}")
        error = result.get("__error__") if isinstance(result, dict) else None
        if isinstance(error, dict):
            return _graph_error(error)
        return success_envelope(result)

    def stream(
        self, thread_id: str, inputs: dict[str, Any], stream_mode: Sequence[str]
    ) -> Iterator[dict[str, Any]]:
        """Run the graph on ``thread_id`` and yield its events as they come
        (``POST /threads/{id}/runs/stream``): ``{"event": name, "data": ...}``.

        Raises:
            httpx.HTTPError: the server failed or answered an error status.
        """
        body = {"assistant_id": self.graph_id, "input": inputs, "stream_mode": list(stream_mode)}
        with self._client.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as answer:
            if not answer.is_success:
                answer.read()
                answer.raise_for_status()
            yield from parse_sse(answer.iter_lines())

    def input_schema(self) -> dict[str, Any] | None:
        """The graph's input JSON Schema (its assistant's ``/schemas``: the input schema,
        else the state's), None when the server knows none (or only "any object")."""
        try:
            found = self._client.post(
                "/assistants/search", json={"graph_id": self.graph_id, "limit": 1}, timeout=5.0
            ).json()
            assistant = found[0]["assistant_id"] if found else self.graph_id
            schemas = self._client.get(f"/assistants/{assistant}/schemas", timeout=5.0).json()
        except Exception:  # no schema is no error: the caller sends any object
            return None
        if not isinstance(schemas, dict):
            return None
        # A graph's input is its state unless it declares an input schema of its own.
        schema = schemas.get("input_schema") or schemas.get("state_schema")
        if not isinstance(schema, dict) or set(schema) <= {"type", "title"}:
            return None  # none, or the generic object: any object is fine
        return schema


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The events of a server-sent event stream: ``{"event": name, "data": value}``
    (``data`` parsed as JSON when it is JSON; ``event`` ``"message"`` when unnamed)."""
    event, data = "", list[str]()
    for line in lines:
        if line == "":
            if data or event:
                yield {"event": event or "message", "data": _json("\n".join(data))}
            event, data = "", list[str]()
        elif line.startswith(":"):
            continue  # a comment (heartbeat)
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield {"event": event or "message", "data": _json("\n".join(data))}


def failure_envelope(exc: Exception, timeout: float) -> dict[str, Any]:
    """The error envelope of a call that raised ``exc``: Hoist's own error (the server
    could not start) by its name, an error status as ``HTTP <code>``, no answer in time
    as ``TimeoutError``, a failed connection as ``ServerError``.

    Raises:
        Exception: ``exc`` itself when it is none of these (a bug, not an answer).
    """
    httpx = _httpx()
    if isinstance(exc, HoistError):
        return error_envelope(type(exc).__name__, str(exc))
    if isinstance(exc, httpx.HTTPStatusError):
        return http_envelope(exc.response)
    if isinstance(exc, httpx.TimeoutException):
        return error_envelope("TimeoutError", f"no answer within the timeout of {timeout:g} s")
    if isinstance(exc, httpx.TransportError):
        return error_envelope("ServerError", f"the LangGraph server failed the call: {exc!r}")
    raise exc


def _graph_error(error: dict[str, Any]) -> dict[str, Any]:
    kind = str(error.get("error") or "GraphError")
    message = str(error.get("message") or kind)
    return error_envelope(kind, message)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the server extra is missing
        raise MissingExtraError("server", "httpx") from None
    return httpx
