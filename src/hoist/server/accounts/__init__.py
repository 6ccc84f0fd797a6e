"""Accounts of the Hoist server: users with roles, API tokens, sessions, failed logins."""

from hoist.server.accounts.credentials import TOKEN_PREFIX, CredentialStore, Session
from hoist.server.accounts.models import AccountConflictError, ApiToken, Role, User
from hoist.server.accounts.users import UserNotFoundError, UserStore

__all__ = [
    "TOKEN_PREFIX",
    "AccountConflictError",
    "ApiToken",
    "CredentialStore",
    "Role",
    "Session",
    "User",
    "UserNotFoundError",
    "UserStore",
]
