"""Users in the store's database: create, find, update, deactivate, authenticate.

Every password set here passes the password rules (:mod:`.policy`), and every hash is
computed on the bounded hashing pool (:mod:`.passwords`); login attempts are counted by
:attr:`UserStore.throttle`, shared by every server process on the store."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from hoist.errors import NotFoundError
from hoist.server.accounts.models import AccountConflictError, Role, User
from hoist.server.accounts.passwords import HashingPool, shared_pool
from hoist.server.accounts.policy import check_password
from hoist.server.accounts.tables import api_tokens, sessions, users
from hoist.server.accounts.throttle import LoginThrottle

__all__ = ["UserNotFoundError", "UserStore", "user_from_row"]


class UserNotFoundError(NotFoundError):
    """No user with that id or name."""

    kind = "user"


class UserStore:
    """Accounts in ``engine``'s database (the run store's).

    Args:
        engine: the run store's engine, migrated to include the account tables.
        clock: the wall clock (seconds since the epoch) for timestamps and the login
            throttle (tests advance a fake one instead of sleeping).
        hashing: the pool that hashes passwords (default: the process's shared one).

    Attributes:
        throttle: counts login attempts per client and per account (on :attr:`clock`).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Callable[[], float] = time.time,
        hashing: HashingPool | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.hashing = hashing or shared_pool()
        self.throttle = LoginThrottle(engine, clock=lambda: self.clock())

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
    def create(
        self, username: str, password: str, role: Role, *, password_field: str = "password"
    ) -> User:
        """Create an active account.

        Args:
            username: the account's name.
            password: its password (checked against the password rules).
            role: what it may do.
            password_field: what an error calls the password (e.g. the variable it came from).

        Raises:
            WeakPasswordError: the password breaks the rules.
            AccountConflictError: the username is taken.
            HashingBusyError: every hashing worker is busy.
        """
        check_password(password, username=username, field=password_field)
        now = self.clock()
        row = {
            "id": secrets.token_hex(8),
            "username": username,
            "password_hash": self.hashing.hash(password),
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
        """Change an account. Deactivating it or changing its password ends its sessions
        and revokes its API tokens (a leaked credential dies with the old password).

        Raises:
            UserNotFoundError: no such user.
            WeakPasswordError: the new password breaks the rules.
            AccountConflictError: the change would leave no active admin.
            HashingBusyError: every hashing worker is busy.
        """
        values: dict[str, Any] = {"updated_at": self.clock()}
        if role is not None:
            values["role"] = str(role)
        if password is not None:
            check_password(password, username=self.get(user_id).username)
            values["password_hash"] = self.hashing.hash(password)
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
            if active is False or password is not None:
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
        """The active user with these credentials, or ``None`` (same cost either way).

        Raises:
            HashingBusyError: every hashing worker is busy.
        """
        with self.engine.connect() as conn:
            query = sa.select(users).where(users.c.username == username)
            row = conn.execute(query).mappings().first()
        stored = None if row is None else row["password_hash"]
        ok, new_hash = self.hashing.verify(stored, password)
        if not ok or row is None or not row["active"]:
            return None
        if new_hash is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    users.update().where(users.c.id == row["id"]).values(password_hash=new_hash)
                )
        return user_from_row(row)


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
