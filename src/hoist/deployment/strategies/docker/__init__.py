"""The ``docker`` strategy: the callable in a container built from a generated Dockerfile
(its CMD proven with the process strategy first), called over HTTP on a loopback port."""

from __future__ import annotations

from hoist.deployment.strategies.docker.runner import DockerRunner

__all__ = ["DockerRunner"]
