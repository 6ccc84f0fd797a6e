"""Password hashing with Argon2id (argon2-cffi), and random secrets."""

from __future__ import annotations

import hashlib
import secrets
import threading
from typing import Any

__all__ = ["generate_password", "hash_password", "sha256_hex", "verify_password"]

_hasher: Any = None
_lock = threading.Lock()
_DUMMY: str | None = None


def _get_hasher() -> Any:
    global _hasher
    if _hasher is None:
        with _lock:
            if _hasher is None:
                from argon2 import PasswordHasher

                _hasher = PasswordHasher()
    return _hasher


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (salted; parameters encoded in the hash)."""
    value: str = _get_hasher().hash(password)
    return value


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check ``password`` against ``stored_hash``.

    Returns ``(ok, new_hash)``: ``new_hash`` is set when the hash should be upgraded to
    the current parameters. With ``stored_hash=None`` (no such user) a dummy hash is
    checked anyway, so that unknown usernames take as long as wrong passwords.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY
    hasher = _get_hasher()
    if stored_hash is None:
        if _DUMMY is None:
            _DUMMY = hasher.hash(secrets.token_urlsafe(16))
        stored_hash, password_ok = _DUMMY, False
    else:
        password_ok = True
    try:
        hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if not password_ok:
        return False, None
    return True, hash_password(password) if hasher.check_needs_rehash(stored_hash) else None


def generate_password() -> str:
    """A random password of about 128 bits, easy to copy (URL-safe characters)."""
    return secrets.token_urlsafe(16)


def sha256_hex(secret: str) -> str:
    """SHA-256 of a high-entropy secret (API tokens, session ids), as stored at rest."""
    return hashlib.sha256(secret.encode()).hexdigest()
