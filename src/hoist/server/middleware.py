"""ASGI middleware: a request-body size limit, and security headers (HSTS when the
server runs behind HTTPS)."""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HSTS_MAX_AGE", "BodyLimitMiddleware", "SecurityHeadersMiddleware"]

HSTS_MAX_AGE = 365 * 24 * 3600
"""Seconds browsers keep to HTTPS once they saw ``Strict-Transport-Security`` (a year)."""


class BodyLimitMiddleware:
    """Refuses bodies larger than ``max_bytes`` with 413: at once when ``Content-Length``
    says so, else as soon as the streamed body passes the limit. A ``multipart/form-data``
    body to a path ``upload_paths`` matches (files forwarded to a service) may hold up to
    ``upload_bytes`` instead."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int | None = None,
        upload_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes
        self.upload_paths = upload_paths

    def _limit(self, scope: Scope) -> int:
        if self.upload_bytes is None or self.upload_paths is None:
            return self.max_bytes
        if not self.upload_paths.fullmatch(scope.get("path", "")):
            return self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-type" and value.lower().startswith(b"multipart/form-data"):
                return max(self.upload_bytes, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reply(send, 400, "invalid Content-Length")
                    return
                if declared > limit:
                    await _reply(send, 413, _message(limit))
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPExceptions from body reading as they are.
                    raise HTTPException(413, _message(limit))
            return message

        await self.app(scope, limited, send)


def _message(limit: int) -> str:
    return f"request body larger than {limit} bytes"


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
