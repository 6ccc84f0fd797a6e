"""Accounts of the Hoist server: users with roles, API tokens, sessions, login throttling."""

from hoist.server.accounts.credentials import TOKEN_PREFIX, CredentialStore, Session
from hoist.server.accounts.models import (
    AccountConflictError,
    ApiToken,
    HashingBusyError,
    Role,
    TokenKind,
    User,
    WeakPasswordError,
)
from hoist.server.accounts.users import UserNotFoundError, UserStore

__all__ = [
    "TOKEN_PREFIX",
    "AccountConflictError",
    "ApiToken",
    "CredentialStore",
    "HashingBusyError",
    "Role",
    "Session",
    "TokenKind",
    "User",
    "UserNotFoundError",
    "UserStore",
    "WeakPasswordError",
]
