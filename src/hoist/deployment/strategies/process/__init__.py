"""The ``process`` strategy: a uvicorn HTTP server in its own process (``POST /predict``,
``GET /health``, ``/openapi.json``) for a callable, a plugin action or an ASGI app."""

from __future__ import annotations

from hoist.deployment.strategies.process.runner import ProcessRunner

__all__ = ["ProcessRunner"]
