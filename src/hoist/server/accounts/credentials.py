"""Credentials: API tokens (for the CLI and workers) and browser sessions.

A token is of a kind (:class:`~hoist.server.accounts.models.TokenKind`): ``user`` tokens
act as their account; ``worker`` tokens too, and only they may post to ``/ingest``.

Both are random, high-entropy secrets handed to the client once; the database keeps only
their SHA-256, so a leaked database grants nothing. A credential is valid only while its
user is active: deactivating a user ends every session and revokes every token at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hoist.errors import NotFoundError
from hoist.server.accounts.models import ApiToken, TokenKind, User
from hoist.server.accounts.passwords import sha256_hex
from hoist.server.accounts.tables import api_tokens, sessions, users
from hoist.server.accounts.users import user_from_row

__all__ = ["TOKEN_PREFIX", "CredentialStore", "Session", "TokenNotFoundError"]

TOKEN_PREFIX = "hoist_"
"""Every API token starts with this, so that leaked tokens are easy to scan for."""

_TOUCH_EVERY = 60.0  # seconds between ``last_used_at``/``last_seen_at`` writes


class TokenNotFoundError(NotFoundError):
    """No token with that id (among those the caller may see)."""

    kind = "token"


@dataclass(frozen=True, slots=True)
class Session:
    """A browser session: its user and the CSRF token its unsafe requests must carry."""

    user: User
    csrf_token: str
    expires_at: float


class CredentialStore:
    """API tokens and sessions in ``engine``'s database.

    Args:
        engine: the run store's engine, migrated to include the account tables.
        session_ttl: how long (s) a session lasts after login.
        clock: the wall clock (seconds since the epoch) for timestamps and expiry
            (tests advance a fake one instead of sleeping).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        session_ttl: float = 14 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.session_ttl = session_ttl
        self.clock = clock

    # ------------------------------------------------------------------ API tokens
    def create_token(
        self,
        user_id: str,
        name: str,
        expires_at: float | None = None,
        *,
        kind: TokenKind = TokenKind.USER,
    ) -> tuple[ApiToken, str]:
        """A new token for ``user_id``: its record, and the secret (shown only now).

        Args:
            user_id: the account the token acts as.
            name: what the token is for.
            expires_at: when it stops working (seconds since the epoch; ``None``: never).
            kind: ``worker`` for a remote worker's token (the only kind ``/ingest``
                takes); see :class:`~hoist.server.accounts.models.TokenKind`.
        """
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = {
            "id": secrets.token_hex(8),
            "user_id": user_id,
            "name": name,
            "token_hash": sha256_hex(secret),
            "prefix": secret[: len(TOKEN_PREFIX) + 4],
            "created_at": self.clock(),
            "last_used_at": None,
            "expires_at": expires_at,
            "revoked_at": None,
            "kind": str(kind),
        }
        with self.engine.begin() as conn:
            conn.execute(api_tokens.insert(), row)
        return _token(row), secret

    def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        """Tokens of ``user_id`` (every user's with ``None``), newest first."""
        query = sa.select(api_tokens).order_by(api_tokens.c.created_at.desc())
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_token(row) for row in conn.execute(query).mappings()]

    def get_token(self, token_id: str) -> ApiToken:
        """The token record with this id, or :class:`TokenNotFoundError`."""
        with self.engine.connect() as conn:
            query = sa.select(api_tokens).where(api_tokens.c.id == token_id)
            row = conn.execute(query).mappings().first()
        if row is None:
            raise TokenNotFoundError(token_id)
        return _token(row)

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token (idempotent)."""
        with self.engine.begin() as conn:
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )

    def token_user(self, secret: str) -> tuple[User, ApiToken] | None:
        """The active user a valid (unrevoked, unexpired) token belongs to, or ``None``."""
        now = self.clock()
        with self.engine.connect() as conn:
            row = conn.execute(_TOKEN_USER, {"token_hash": sha256_hex(secret)}).mappings().first()
        if row is None or not row["active"] or row["t_revoked_at"] is not None:
            return None
        if row["t_expires_at"] is not None and row["t_expires_at"] <= now:
            return None
        token = _token({c.name: row[f"t_{c.name}"] for c in api_tokens.columns})
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(
                    api_tokens.update().where(api_tokens.c.id == token.id).values(last_used_at=now)
                )
        return user_from_row(row), token

    # ------------------------------------------------------------------ sessions
    def create_session(self, user_id: str) -> tuple[str, Session]:
        """A new session: its secret id (for the signed cookie) and the session."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        csrf, expires_at = secrets.token_urlsafe(32), now + self.session_ttl
        row = {
            "id_hash": sha256_hex(session_id),
            "user_id": user_id,
            "csrf_token": csrf,
            "created_at": now,
            "expires_at": expires_at,
            "last_seen_at": now,
        }
        with self.engine.begin() as conn:
            conn.execute(sessions.insert(), row)
            user = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().one()
        return session_id, Session(user_from_row(user), csrf, expires_at)

    def session(self, session_id: str) -> Session | None:
        """The live session with this secret id whose user is active, or ``None``."""
        now = self.clock()
        query = (
            sa.select(
                users,
                sessions.c.csrf_token,
                sessions.c.expires_at.label("s_expires_at"),
                sessions.c.last_seen_at,
            )
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.id_hash == sha256_hex(session_id))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or not row["active"] or row["s_expires_at"] <= now:
            return None
        if now - row["last_seen_at"] > _TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(
                    sessions.update()
                    .where(sessions.c.id_hash == sha256_hex(session_id))
                    .values(last_seen_at=now)
                )
        return Session(user_from_row(row), row["csrf_token"], row["s_expires_at"])

    def end_session(self, session_id: str) -> None:
        """Delete a session (logout); also drops expired sessions."""
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.id_hash == sha256_hex(session_id)))
            conn.execute(sessions.delete().where(sessions.c.expires_at < self.clock()))


_TOKEN_COLUMNS = [c.label(f"t_{c.name}") for c in api_tokens.columns]
_TOKEN_USER = (
    sa.select(users, *_TOKEN_COLUMNS)
    .join(api_tokens, api_tokens.c.user_id == users.c.id)
    .where(api_tokens.c.token_hash == sa.bindparam("token_hash"))
)
"""Built once: this runs on every token-authenticated request."""


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=float(row["created_at"]),
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        kind=TokenKind(row["kind"]),
    )
