"""The password rules, applied wherever a password is set: the API, ``hoist users`` and the
bootstrap admin (``HOIST_ADMIN_PASSWORD``) all go through :meth:`UserStore.create` and
:meth:`UserStore.update`, which call :func:`check_password`.

A password must have :data:`MIN_LENGTH` to :data:`MAX_LENGTH` characters and must not be
easy to guess: zxcvbn (shipped with its dictionaries of common and breached passwords,
names and words; no network) must rate it at least :data:`MIN_SCORE` of 4, with the
username and "hoist" counted as known words. That refuses ``12345678``, ``password``,
``qwertyuiop`` and the like.
"""

from __future__ import annotations

from hoist.errors import MissingExtraError
from hoist.server.accounts.models import WeakPasswordError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "MIN_SCORE", "check_password", "password_problems"]

MIN_LENGTH = 8
MAX_LENGTH = 1024
MIN_SCORE = 2
"""zxcvbn's score: 2 means about 10^6 guesses or more, out of reach of an online attack
against the throttled login."""
_RATED_CHARS = 72  # zxcvbn refuses longer input (ValueError); the first 72 characters decide


def password_problems(password: str, *, username: str | None = None) -> list[str]:
    """Why ``password`` breaks the rules (empty when it does not)."""
    if len(password) < MIN_LENGTH:
        return [f"must have at least {MIN_LENGTH} characters"]
    if len(password) > MAX_LENGTH:
        return [f"must have at most {MAX_LENGTH} characters"]
    try:
        from zxcvbn import zxcvbn
    except ImportError:  # pragma: no cover - installed with the server extra
        raise MissingExtraError("server", "zxcvbn") from None
    known = ["hoist", *([username] if username else [])]
    rating = zxcvbn(password[:_RATED_CHARS], user_inputs=known)
    if rating["score"] >= MIN_SCORE:
        return []
    feedback = rating["feedback"]
    warning = str(feedback.get("warning") or "").rstrip(".")
    hints = " ".join(feedback.get("suggestions") or [])
    return [f"too easy to guess{f' ({warning})' if warning else ''}. {hints}".strip()]


def check_password(password: str, *, username: str | None = None, field: str = "password") -> None:
    """Refuse a password that breaks the rules.

    Args:
        password: the new password.
        username: the account's name (a password built from it is easy to guess).
        field: the name the error gives the password (``HOIST_ADMIN_PASSWORD``, ...).

    Raises:
        WeakPasswordError: with ``{field: [why]}``.
    """
    problems = password_problems(password, username=username)
    if problems:
        raise WeakPasswordError(field, problems)
