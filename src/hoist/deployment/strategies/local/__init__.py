"""The `local` strategy: the callable or plugin action in its own Python subprocess."""

from __future__ import annotations

from hoist.deployment.strategies.local.runner import LocalRunner

__all__ = ["LocalRunner"]
