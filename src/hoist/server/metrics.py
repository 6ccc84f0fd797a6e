"""Prometheus metrics of one app (its own registry, so several apps can live in one
process): runs launched, HTTP requests and their latency, open streams."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MetricsMiddleware", "ServerMetrics"]


class ServerMetrics:
    """The app's collectors.

    Args:
        open_streams: called at scrape time for the number of open SSE streams.
    """

    def __init__(self, open_streams: Callable[[], int] | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.runs_launched = Counter(
            "hoist_runs_launched", "Runs started through the API.", ["kind", "mode"],
            registry=self.registry,
        )  # fmt: skip
        self.requests = Counter(
            "hoist_http_requests", "HTTP requests answered.", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "hoist_http_request_duration_seconds",
            "Time to the end of the response (streams: their whole life).",
            ["method", "route"],
            registry=self.registry,
        )
        self.events_ingested = Counter(
            "hoist_events_ingested", "Events stored from remote workers.", registry=self.registry
        )
        streams = Gauge("hoist_open_streams", "Open SSE streams.", registry=self.registry)
        if open_streams is not None:
            streams.set_function(lambda: float(open_streams()))

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (not its raw path, so
    ids do not explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, name, str(status)).inc()
            self.metrics.latency.labels(method, name).observe(time.perf_counter() - start)
