"""ASGI middleware: a request-body size limit, and security headers (HSTS when the
server runs behind HTTPS)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HSTS_MAX_AGE", "BodyLimitMiddleware", "SecurityHeadersMiddleware"]

HSTS_MAX_AGE = 365 * 24 * 3600
"""Seconds browsers keep to HTTPS once they saw ``Strict-Transport-Security`` (a year)."""


class BodyLimitMiddleware:
    """Refuses bodies larger than ``max_bytes`` with 413: at once when ``Content-Length``
    says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reply(send, 400, "invalid Content-Length")
                    return
                if declared > self.max_bytes:
                    await _reply(send, 413, self._message())
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPExceptions from body reading as they are.
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes} bytes"


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """Adds ``X-Content-Type-Options``, ``X-Frame-Options`` and ``Referrer-Policy`` to
    every response, and ``Strict-Transport-Security`` when ``hsts`` is on (the server
    runs behind HTTPS: its session cookies are ``Secure``).

    Args:
        app: the wrapped app.
        hsts: send ``Strict-Transport-Security`` (browsers then refuse plain HTTP to
            this host for :data:`HSTS_MAX_AGE` seconds).
    """

    _HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    ]

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = list(self._HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE}".encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
