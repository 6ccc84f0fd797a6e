"""Users in the store's database: create, find, update, deactivate, authenticate; and the
shared count of failed logins (so that several server processes share one limit)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from hoist.errors import NotFoundError
from hoist.server.accounts.models import AccountConflictError, Role, User
from hoist.server.accounts.passwords import hash_password, sha256_hex, verify_password
from hoist.server.accounts.tables import api_tokens, login_failures, sessions, users

__all__ = ["UserNotFoundError", "UserStore", "user_from_row"]


class UserNotFoundError(NotFoundError):
    """No user with that id or name."""

    kind = "user"


class UserStore:
    """Accounts in ``engine``'s database (the run store's).

    Args:
        engine: the run store's engine, migrated to include the account tables.
        clock: the wall clock (seconds since the epoch) for timestamps and the
            failed-login window (tests advance a fake one instead of sleeping).
    """

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    # ------------------------------------------------------------------ reads
    def count(self) -> int:
        """How many accounts exist (active or not)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar() or 0)

    def get(self, user_id: str) -> User:
        """The user with this id, or :class:`UserNotFoundError`."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise UserNotFoundError(user_id)
        return user_from_row(row)

    def find(self, username: str) -> User | None:
        """The user with this name, or ``None``."""
        with self.engine.connect() as conn:
            query = sa.select(users).where(users.c.username == username)
            row = conn.execute(query).mappings().first()
        return None if row is None else user_from_row(row)

    def list(self) -> list[User]:
        """Every account, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users).order_by(users.c.username)).mappings().all()
        return [user_from_row(row) for row in rows]

    # ------------------------------------------------------------------ writes
    def create(self, username: str, password: str, role: Role) -> User:
        """Create an active account.

        Raises:
            AccountConflictError: the username is taken.
        """
        now = self.clock()
        row = {
            "id": secrets.token_hex(8),
            "username": username,
            "password_hash": hash_password(password),
            "role": str(role),
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(users.insert(), row)
        except sa.exc.IntegrityError:
            raise AccountConflictError(f"username '{username}' is taken") from None
        return user_from_row(row)

    def update(
        self,
        user_id: str,
        *,
        role: Role | None = None,
        password: str | None = None,
        active: bool | None = None,
    ) -> User:
        """Change an account. Deactivating it (or changing its password) ends its
        sessions; deactivating also revokes its API tokens.

        Raises:
            UserNotFoundError: no such user.
            AccountConflictError: the change would leave no active admin.
        """
        values: dict[str, Any] = {"updated_at": self.clock()}
        if role is not None:
            values["role"] = str(role)
        if password is not None:
            values["password_hash"] = hash_password(password)
        if active is not None:
            values["active"] = active
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
            if current is None:
                raise UserNotFoundError(user_id)
            demoted = (role is not None and role is not Role.ADMIN) or active is False
            if demoted and current["role"] == Role.ADMIN and current["active"]:
                _check_other_admin(conn, user_id)
            conn.execute(users.update().where(users.c.id == user_id).values(values))
            if active is False or password is not None:
                conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
            if active is False:
                conn.execute(
                    api_tokens.update()
                    .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=values["updated_at"])
                )
        return self.get(user_id)

    def deactivate(self, user_id: str) -> User:
        """Deactivate an account: its sessions end and its tokens are revoked at once."""
        return self.update(user_id, active=False)

    def delete(self, user_id: str) -> None:
        """Delete an account with its sessions and tokens.

        Raises:
            UserNotFoundError: no such user.
            AccountConflictError: it is the last active admin.
        """
        with self.engine.begin() as conn:
            current = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
            if current is None:
                raise UserNotFoundError(user_id)
            if current["role"] == Role.ADMIN and current["active"]:
                _check_other_admin(conn, user_id)
            conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
            conn.execute(api_tokens.delete().where(api_tokens.c.user_id == user_id))
            conn.execute(users.delete().where(users.c.id == user_id))

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with these credentials, or ``None`` (same cost either way)."""
        with self.engine.connect() as conn:
            query = sa.select(users).where(users.c.username == username)
            row = conn.execute(query).mappings().first()
        ok, new_hash = verify_password(None if row is None else row["password_hash"], password)
        if not ok or row is None or not row["active"]:
            return None
        if new_hash is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    users.update().where(users.c.id == row["id"]).values(password_hash=new_hash)
                )
        return user_from_row(row)

    # ------------------------------------------------------------------ failed logins
    def failed_logins(self, key: str, window: float) -> tuple[int, float | None]:
        """Failures recorded for ``key`` in the last ``window`` seconds, and the oldest's time."""
        since = self.clock() - window
        query = sa.select(sa.func.count(), sa.func.min(login_failures.c.ts)).where(
            login_failures.c.key == sha256_hex(key), login_failures.c.ts > since
        )
        with self.engine.connect() as conn:
            count, oldest = conn.execute(query).one()
        return int(count or 0), oldest

    def record_failed_login(self, key: str, window: float) -> None:
        """Count a failed login for ``key`` (and forget failures older than ``window``)."""
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(login_failures.insert().values(key=sha256_hex(key), ts=now))
            conn.execute(login_failures.delete().where(login_failures.c.ts < now - window))

    def clear_failed_logins(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful login)."""
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key == sha256_hex(key)))


def _check_other_admin(conn: sa.Connection, user_id: str) -> None:
    query = sa.select(sa.func.count()).where(
        users.c.role == str(Role.ADMIN), users.c.active.is_(True), users.c.id != user_id
    )
    if not conn.execute(query).scalar():
        raise AccountConflictError("this is the last active admin; make another admin first")


def user_from_row(row: Any) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        active=bool(row["active"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
    )
