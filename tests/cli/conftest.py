"""CLI tests use the `hoist` and `hoist_proc` fixtures of the root conftest."""

from tests.conftest import HOIST

__all__ = ["HOIST"]
