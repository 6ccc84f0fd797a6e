"""The ``ray-serve`` strategy: a Ray Serve application (on a private loopback Ray or a
given cluster) for a callable, a plugin action or an ASGI app, tuned from the config
(``max_ongoing_requests``, replicas, autoscaling, resources)."""

from __future__ import annotations

from hoist.deployment.strategies.ray_serve.runner import RayServeRunner

__all__ = ["RayServeRunner"]
