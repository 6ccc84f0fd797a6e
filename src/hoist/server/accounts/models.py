"""Accounts: roles, users and API tokens as values, and the errors account operations raise."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hoist.errors import UserInputError

__all__ = ["AccountConflictError", "ApiToken", "Role", "User"]


class Role(StrEnum):
    """What an account may do; each role includes the ones below it.

    ``viewer`` reads; ``operator`` also launches, cancels and resumes runs and posts
    events (remote workers); ``admin`` also manages users and everyone's tokens.
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


class AccountConflictError(UserInputError):
    """The change would clash with existing accounts (a taken username, the last admin)."""
