"""``print()`` and stderr inside a service's entry point, as log events of that run only.

While an execution pool is alive, ``sys.stdout`` and ``sys.stderr`` are proxies
(:func:`install`, once per process however many pools there are). A proxy routes each
write by a context variable that the pool sets for each execution (:func:`begin`):
asyncio tasks copy their context, and the pool runs sync entry points on its threads
inside a copy of the execution's context, so concurrent executions never mix. Writes
outside any execution go to the original stream unchanged.

Each execution's output is line-buffered: a complete line becomes a log event at once
(``stdout`` lines at ``INFO`` from logger ``stdout``, ``stderr`` lines at ``WARNING``
from logger ``stderr``); a partial line waits for its end or for :meth:`Capture.flush`,
which the pool calls when the execution ends.
"""

from __future__ import annotations

import sys
import threading
from contextvars import ContextVar, Token
from typing import Any, TextIO

__all__ = ["Capture", "begin", "current", "end", "install", "uninstall"]

_LEVELS = {"stdout": "INFO", "stderr": "WARNING"}
_current: ContextVar[Capture | None] = ContextVar("hoist_service_capture", default=None)


class Capture:
    """One execution's captured output, sent to its run's context as log events.

    Args:
        ctx: what receives the lines (``ctx.emit_log(message, level, logger)``).
    """

    __slots__ = ("_ctx", "_lock", "_partial")

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx
        self._partial: dict[str, str] = {}
        # The entry point may write from helper threads that copied its context
        # (asyncio.to_thread): one execution's lines are assembled one writer at a time.
        self._lock = threading.Lock()

    def write(self, stream: str, text: str) -> None:
        """Add ``text`` written to ``stream`` (``stdout`` or ``stderr``)."""
        with self._lock:
            pending = self._partial.pop(stream, "") + text
            *lines, rest = pending.split("\n")
            if rest:
                self._partial[stream] = rest
        for line in lines:
            self._ctx.emit_log(line.removesuffix("\r"), _LEVELS[stream], stream)

    def flush(self) -> None:
        """Send the partial lines still waiting for their end."""
        with self._lock:
            partial, self._partial = self._partial, {}
        for stream, line in partial.items():
            self._ctx.emit_log(line, _LEVELS[stream], stream)


def begin(ctx: Any) -> tuple[Capture, Token[Capture | None]]:
    """Capture what the current context (an execution's task or thread) writes; returns
    the capture and the token that :func:`end` takes."""
    capture = Capture(ctx)
    return capture, _current.set(capture)


def end(capture: Capture, token: Token[Capture | None]) -> None:
    """Flush ``capture`` and stop capturing in this context."""
    capture.flush()
    _current.reset(token)


def current() -> Capture | None:
    """The capture of the execution running in this context, if any."""
    return _current.get()


class _Proxy:
    """Stands in for ``sys.stdout``/``sys.stderr``: an execution's writes go to its
    capture; everything else (and every other attribute) to the original stream."""

    def __init__(self, original: TextIO, stream: str) -> None:
        self._original = original
        self._stream = stream

    def write(self, text: str) -> int:
        capture = _current.get()
        if capture is None:
            return self._original.write(text)
        capture.write(self._stream, str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if _current.get() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


_lock = threading.Lock()
_users = 0
_originals: dict[str, Any] = {}


def install() -> None:
    """Route ``sys.stdout``/``sys.stderr`` through the capturing proxies (counted: each
    pool installs once and :func:`uninstall` s once)."""
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        for name in ("stdout", "stderr"):
            original = getattr(sys, name)
            _originals[name] = original
            setattr(sys, name, _Proxy(original, name))


def uninstall() -> None:
    """Undo one :func:`install`; the last one restores the original streams (unless
    someone replaced the proxy meanwhile: then theirs stays)."""
    global _users
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users:
            return
        for name, original in _originals.items():
            if isinstance(getattr(sys, name), _Proxy):
                setattr(sys, name, original)
        _originals.clear()
