"""Password hashing with Argon2id (argon2-cffi) on a small bounded pool, and random secrets.

Argon2 is memory-hard on purpose: each hash takes about 64 MiB for a moment. Unbounded,
60 concurrent logins took a server to 2.1 GB and starved every other request. So a
process hashes on :data:`HASH_WORKERS` threads only, at most :data:`HASH_QUEUE` more
callers wait for one, and anyone beyond is refused at once with
:class:`~hoist.server.accounts.models.HashingBusyError` (the server answers 503 with
``Retry-After``). Memory for hashing stays under ``HASH_WORKERS * 64 MiB``, and a login
flood holds at most ``HASH_WORKERS + HASH_QUEUE`` request threads. The hashing threads
run at a lower CPU priority (Linux, nice +10), so hashes yield the CPU to other requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from hoist.server.accounts.models import HashingBusyError

__all__ = [
    "HASH_QUEUE",
    "HASH_WORKERS",
    "HashingPool",
    "generate_password",
    "sha256_hex",
    "shared_pool",
]

T = TypeVar("T")

HASH_WORKERS = 2
"""Threads of a process that compute Argon2 hashes."""
HASH_QUEUE = 8
"""Callers that may wait for a hashing thread; any more are refused at once."""


class HashingPool:
    """Argon2id hashing and verification on ``workers`` threads, with a bounded queue.

    Args:
        workers: threads that hash (each uses Argon2's memory while it works).
        queue: callers that may wait for a free thread beyond those working.

    Every call is admitted first (:meth:`admit`); with ``workers + queue`` callers
    already admitted, it raises :class:`HashingBusyError` without waiting.
    """

    def __init__(self, workers: int = HASH_WORKERS, queue: int = HASH_QUEUE) -> None:
        from argon2 import PasswordHasher

        self.workers = workers
        self.limit = workers + queue
        self._hasher = PasswordHasher()
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="hoist-argon2", initializer=_yield_cpu
        )
        self._lock = threading.Lock()
        self._admitted = 0
        self._local = threading.local()
        self._dummy: str | None = None

    @property
    def admitted(self) -> int:
        """Callers admitted now (working or waiting)."""
        return self._admitted

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one of the pool's places for the block (the hashing calls made inside it,
        in the same thread, use that place rather than another).

        Raises:
            HashingBusyError: every place is taken.
        """
        depth: int = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._lock:
                if self._admitted >= self.limit:
                    raise HashingBusyError()
                self._admitted += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._lock:
                    self._admitted -= 1

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a hashing thread, admitted like a hash; the caller waits."""
        with self.admit():
            return self._executor.submit(fn, *args).result()

    def hash(self, password: str) -> str:
        """An Argon2id hash of ``password`` (salted; parameters encoded in the hash)."""
        value: str = self.run(self._hasher.hash, password)
        return value

    def verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """Check ``password`` against ``stored_hash``.

        Returns ``(ok, new_hash)``: ``new_hash`` is set when the hash should be upgraded
        to the current parameters. With ``stored_hash=None`` (no such user) a dummy hash
        is checked anyway, so that unknown usernames cost as much as wrong passwords.
        """
        return self.run(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        from argon2.exceptions import InvalidHashError, VerificationError

        known = stored_hash is not None
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
            stored_hash = self._dummy
        try:
            self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False, None
        if not known:
            return False, None
        if self._hasher.check_needs_rehash(stored_hash):
            return True, self._hasher.hash(password)
        return True, None


def _yield_cpu() -> None:
    """Lower this hashing thread's CPU priority (and so that of Argon2's lane threads it
    starts): on Linux ``setpriority`` on a thread id affects that thread only."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)


_NICE = 10
_shared: HashingPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> HashingPool:
    """The process's hashing pool (created on first use): one bound for every store,
    server app and command in the process."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = HashingPool()
    return _shared


def generate_password() -> str:
    """A random password of about 128 bits, easy to copy (URL-safe characters)."""
    return secrets.token_urlsafe(16)


def sha256_hex(secret: str) -> str:
    """SHA-256 of a high-entropy secret (API tokens, session ids), as stored at rest."""
    return hashlib.sha256(secret.encode()).hexdigest()
