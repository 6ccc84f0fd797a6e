"""Accounts: roles, users and API tokens as values, and the errors account operations raise."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hoist.errors import HoistError, ParamsValidationError, UserInputError

__all__ = [
    "AccountConflictError",
    "ApiToken",
    "HashingBusyError",
    "Role",
    "TokenKind",
    "User",
    "WeakPasswordError",
]


class Role(StrEnum):
    """What an account may do; each role includes the ones below it.

    ``viewer`` reads; ``operator`` also launches, cancels and resumes runs and, with a
    worker token, posts events (remote workers); ``admin`` also manages users and everyone's tokens.
    """

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Order of privilege: viewer 0, operator 1, admin 2."""
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        """True when this role includes ``needed``."""
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class User:
    """An account (never carries its password hash)."""

    id: str
    username: str
    role: Role
    active: bool
    created_at: float
    updated_at: float


class TokenKind(StrEnum):
    """What an API token is for.

    ``user`` tokens act as their account (the CLI, scripts); ``worker`` tokens do too,
    and are the only ones that may post runs and events to ``/ingest``, each only for the
    runs it created itself. A worker token cannot create or revoke other tokens.
    """

    USER = "user"
    WORKER = "worker"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's record; the secret itself is shown once, at creation, and only its
    SHA-256 is stored."""

    id: str
    user_id: str
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None
    expires_at: float | None
    revoked_at: float | None
    kind: TokenKind = TokenKind.USER


class AccountConflictError(UserInputError):
    """The change would clash with existing accounts (a taken username, the last admin)."""


class WeakPasswordError(ParamsValidationError):
    """A password breaks the password rules (too short, too common, too easy to guess).

    Attributes:
        field_errors: ``{field: [why]}``; the field is ``password`` unless the caller named
            another (``HOIST_ADMIN_PASSWORD`` for the bootstrap admin).
    """

    def __init__(self, field: str, problems: list[str]) -> None:
        super().__init__({field: problems}, subject="password")


class HashingBusyError(HoistError):
    """Every password-hashing worker is busy and the queue is full: try again shortly.

    Attributes:
        retry_after: seconds after which a retry is likely to be admitted.
    """

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("the server is busy checking passwords; try again shortly")
        self.retry_after = retry_after
