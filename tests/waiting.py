"""Wait on state, not time: the one helper tests use to synchronise with other threads,
processes and servers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T], timeout: float = 30.0, what: str = "a condition", poll: float = 0.01
) -> T:
    """Call ``check`` until it returns something truthy; return that value.

    Raises:
        AssertionError: still falsy after ``timeout`` seconds (the message says ``what``).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
