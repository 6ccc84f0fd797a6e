"""Login throttling shared by every server process on one store: a growing delay per
client address, and a far looser one per account.

Each login attempt is counted *before* the password is checked, in one atomic
compare-and-set on the database (a row per client and per account, updated only if its
``version`` is still the one read): of many concurrent attempts, only those the limit
allows are ever tried, whichever process serves them. An attempt that turns out right
clears both rows; a wrong one stays counted, and its delay runs from when it failed.

A client gets :attr:`ThrottlePolicy.free` tries back to back, then must wait 1 s, 2 s,
4 s, ... (doubling per failure, up to :attr:`ThrottlePolicy.max_delay`). An account
allows a hundred failures before it slows down, and never by more than a minute: an
attacker on one address is slowed to a crawl long before the owner, logging in from
elsewhere, notices anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hoist.server.accounts.passwords import sha256_hex
from hoist.server.accounts.tables import login_throttle

__all__ = ["ACCOUNT_POLICY", "CLIENT_POLICY", "Attempt", "LoginThrottle", "ThrottlePolicy"]

_ROUNDS = 50  # compare-and-set retries before asking the caller to come back
_HOLD = 60.0
"""Seconds a key that has used its free tries stays blocked while an attempt is being
checked (until it fails, when its delay runs from then, or succeeds)."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How failures of one key slow its next tries.

    Attributes:
        free: failures allowed back to back.
        base_delay: seconds to wait after the ``free``-th failure; doubled per failure.
        max_delay: the longest wait.
        forget_after: seconds without an attempt after which the failures are forgotten.
    """

    free: int
    base_delay: float
    max_delay: float
    forget_after: float

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row."""
        if failures < self.free:
            return 0.0
        return float(min(self.max_delay, self.base_delay * 2 ** min(failures - self.free, 30)))


CLIENT_POLICY = ThrottlePolicy(free=5, base_delay=1.0, max_delay=900.0, forget_after=3600.0)
"""Per client address: 5 tries, then 1 s, 2 s, 4 s, ... up to 15 minutes."""
ACCOUNT_POLICY = ThrottlePolicy(free=100, base_delay=1.0, max_delay=60.0, forget_after=3600.0)
"""Per account name (known or not): 100 tries, then 1 s, 2 s, ... up to a minute."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login attempt as the throttle saw it.

    Attributes:
        client: the client's address.
        username: the account name tried.
        retry_after: ``None`` when the attempt may go ahead (it is counted as a failure
            until :meth:`LoginThrottle.succeeded`); else the seconds to wait.
        failures: failures counted per key with this attempt (when it went ahead).
    """

    client: str
    username: str
    retry_after: int | None
    failures: Mapping[str, int] = field(default_factory=dict)


class LoginThrottle:
    """Counts login attempts per client and per account in ``engine``'s database.

    Args:
        engine: the run store's engine, migrated to include the account tables.
        clock: the wall clock (seconds since the epoch).
        client_policy: the limit per client address.
        account_policy: the limit per account name.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        clock: Callable[[], float] = time.time,
        client_policy: ThrottlePolicy = CLIENT_POLICY,
        account_policy: ThrottlePolicy = ACCOUNT_POLICY,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.client_policy = client_policy
        self.account_policy = account_policy

    def attempt(self, client: str, username: str) -> Attempt:
        """Count a login attempt of ``username`` from ``client``, if one is allowed now.

        Returns:
            The attempt: allowed (``retry_after`` is ``None``), or refused with the
            seconds to wait before trying again (nothing is counted then).
        """
        keys = self._keys(client, username)
        for _ in range(_ROUNDS):
            now = self.clock()
            with self.engine.connect() as conn:
                query = sa.select(login_throttle).where(login_throttle.c.key.in_(list(keys)))
                rows = {row["key"]: row for row in conn.execute(query).mappings()}
            wait = max((row["blocked_until"] - now for row in rows.values()), default=0.0)
            if wait > 0:
                return Attempt(client, username, max(1, math.ceil(wait)))
            counted = self._count(keys, rows, now)
            if counted is not None:
                return Attempt(client, username, None, counted)
        return Attempt(client, username, 1)  # lost every race: one more try can wait

    def failed(self, attempt: Attempt) -> None:
        """The attempt was wrong: the delays it earned run from now."""
        now = self.clock()
        with self.engine.begin() as conn:
            for key, policy in self._keys(attempt.client, attempt.username).items():
                failures = attempt.failures.get(key, 0)
                if policy.delay(failures):  # this attempt holds the key: set its delay
                    conn.execute(
                        login_throttle.update()
                        .where(login_throttle.c.key == key)
                        .where(login_throttle.c.failures == failures)
                        .values(blocked_until=now + policy.delay(failures))
                    )

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt was right: forget the failures of its client and its account."""
        keys = list(self._keys(attempt.client, attempt.username))
        with self.engine.begin() as conn:
            conn.execute(login_throttle.delete().where(login_throttle.c.key.in_(keys)))

    def _keys(self, client: str, username: str) -> dict[str, ThrottlePolicy]:
        return {_key("client", client): self.client_policy,
                _key("account", username): self.account_policy}  # fmt: skip

    def _count(
        self, keys: Mapping[str, ThrottlePolicy], rows: Mapping[str, Any], now: float
    ) -> dict[str, int] | None:
        """Count one failure for each key in one transaction: the failures per key, or
        ``None`` when another attempt changed a row since it was read (nothing written)."""
        counted: dict[str, int] = {}
        try:
            with self.engine.begin() as conn:
                for key, policy in keys.items():
                    row = rows.get(key)
                    fresh = row is None or now - row["updated_at"] > policy.forget_after
                    failures = 1 if fresh or row is None else row["failures"] + 1
                    counted[key] = failures
                    hold = _HOLD if policy.delay(failures) else 0.0  # until it is checked
                    values = {"failures": failures, "updated_at": now, "blocked_until": now + hold}
                    if row is None:
                        conn.execute(login_throttle.insert().values(key=key, version=1, **values))
                        self._forget_old(conn, now)
                        continue
                    done = conn.execute(
                        login_throttle.update()
                        .where(login_throttle.c.key == key)
                        .where(login_throttle.c.version == row["version"])
                        .values(version=row["version"] + 1, **values)
                    )
                    if done.rowcount != 1:
                        raise _Lost
        except (_Lost, sa.exc.IntegrityError):
            return None
        return counted

    def _forget_old(self, conn: sa.Connection, now: float) -> None:
        oldest = now - max(self.client_policy.forget_after, self.account_policy.forget_after)
        conn.execute(login_throttle.delete().where(login_throttle.c.updated_at < oldest))

    def failures(self, *, client: str | None = None, username: str | None = None) -> int:
        """Failures counted now for ``client`` or ``username`` (attempts in progress too)."""
        key = _key("client", client) if client is not None else _key("account", username or "")
        with self.engine.connect() as conn:
            query = sa.select(login_throttle.c.failures).where(login_throttle.c.key == key)
            return int(conn.execute(query).scalar() or 0)


class _Lost(Exception):
    """Another attempt updated a row first."""


def _key(kind: str, name: str) -> str:
    # Account names are case-insensitive here: "Admin" and "admin" share one limit.
    return sha256_hex(f"{kind}:{name.lower() if kind == 'account' else name}")
