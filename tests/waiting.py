"""Wait on state, not time: the one helper tests use to synchronise with other threads,
processes and servers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

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


def wait_answering(
    proc: subprocess.Popen[Any], url: str, timeout: float = 60.0, what: str | None = None
) -> None:
    """Wait until ``url`` answers 200 while the process ``proc`` serving it runs; fails at
    once (with its error output, when piped) if it exits first."""
    import httpx

    with httpx.Client(timeout=5) as http:

        def answering() -> bool:
            if proc.poll() is not None:
                output = proc.stderr.read() if proc.stderr is not None else ""
                raise AssertionError(f"the process serving {url} exited ({proc.returncode}): "
                                     f"{output}")  # fmt: skip
            try:
                return http.get(url).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answering, timeout, what or f"{url} to answer", poll=0.05)
