"""Account tables on SQLite and PostgreSQL: the migrations, users, tokens, sessions, the
password rules and the login throttle (on an injected clock)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hoist.runs.store import RunStore, migrate
from hoist.runs.store.migrate import current_revision
from hoist.runs.store.revision import HEAD_REVISION
from hoist.server.accounts import (
    AccountConflictError,
    CredentialStore,
    Role,
    UserStore,
    WeakPasswordError,
)
from hoist.server.accounts.bootstrap import ensure_admin
from hoist.settings import Settings


@pytest.fixture
def store(store_url: str) -> RunStore:
    return RunStore(store_url)


def test_a_store_at_0001_is_upgraded_to_the_newest_accounts(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        assert current_revision(conn) == "0001"
    engine.dispose()
    store = RunStore(url)
    with store.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        assert "login_throttle" in sa.inspect(conn).get_table_names()
    assert UserStore(store.engine).count() == 0
    store.close()


def test_users_tokens_and_sessions(store: RunStore) -> None:
    users, creds = UserStore(store.engine), CredentialStore(store.engine, session_ttl=60)
    settings = Settings(home=Path("/nonexistent"), admin_password="first-admin-pw")
    assert ensure_admin(users, settings) is None  # configured: nothing to print
    assert ensure_admin(users, settings) is None  # accounts exist: nothing to do
    admin = users.find("admin")
    assert admin is not None and admin.role is Role.ADMIN
    assert users.authenticate("admin", "first-admin-pw") == admin
    assert users.authenticate("admin", "wrong") is None
    assert users.authenticate("ghost", "wrong") is None
    with pytest.raises(AccountConflictError):
        users.create("admin", "another-admin-pw", Role.VIEWER)
    bob = users.create("bob", "bob-password", Role.OPERATOR)
    token, secret = creds.create_token(bob.id, "ci")
    found = creds.token_user(secret)
    assert found is not None and found[0].id == bob.id and found[1].id == token.id
    assert creds.token_user(secret + "x") is None
    _, expired = creds.create_token(bob.id, "old", expires_at=time.time() - 1)
    assert creds.token_user(expired) is None
    session_id, session = creds.create_session(bob.id)
    assert creds.session(session_id) == session
    users.update(bob.id, password="new-password-1")  # a new password ends sessions
    assert creds.session(session_id) is None
    creds.revoke_token(token.id)
    assert creds.token_user(secret) is None
    with pytest.raises(AccountConflictError):
        users.deactivate(admin.id)  # the last admin
    store.close()


def test_login_attempts_slow_a_client_down_and_are_forgotten_later(store: RunStore) -> None:
    now = [1_000_000.0]
    users = UserStore(store.engine, clock=lambda: now[0])
    throttle = users.throttle  # runs on the store's clock
    policy = throttle.client_policy
    for _ in range(policy.free):  # free tries, back to back
        attempt = throttle.attempt("1.2.3.4", "bob")
        assert attempt.retry_after is None
        now[0] += 10  # checking the password takes a while
        throttle.failed(attempt)
    assert throttle.failures(client="1.2.3.4") == policy.free
    waits = []
    for _ in range(4):  # then each failure doubles the wait, from when it failed
        wait = throttle.attempt("1.2.3.4", "bob").retry_after
        assert wait is not None
        waits.append(wait)
        assert throttle.attempt("1.2.3.4", "someone-else").retry_after == wait  # any name
        now[0] += wait
        attempt = throttle.attempt("1.2.3.4", "bob")
        assert attempt.retry_after is None
        throttle.failed(attempt)
    assert waits == [1, 2, 4, 8]
    elsewhere = throttle.attempt("5.6.7.8", "bob")  # bob from elsewhere: not blocked
    assert elsewhere.retry_after is None
    throttle.succeeded(elsewhere)
    assert throttle.failures(username="BOB") == 0  # names are case-insensitive
    assert throttle.failures(client="1.2.3.4") == policy.free + 4
    now[0] += policy.forget_after + 1  # a long quiet: the streak starts over
    assert throttle.attempt("1.2.3.4", "bob").retry_after is None
    assert throttle.failures(client="1.2.3.4") == 1
    store.close()


def test_an_account_slows_down_only_after_many_failures(store: RunStore) -> None:
    now = [1_000_000.0]
    users = UserStore(store.engine, clock=lambda: now[0])
    throttle = users.throttle
    free = throttle.account_policy.free
    assert free >= 10 * throttle.client_policy.free  # far above the per-client limit
    for n in range(free):  # from many addresses, as a botnet would
        throttle.failed(throttle.attempt(f"10.0.{n // 250}.{n % 250}", "alice"))
    wait = throttle.attempt("192.0.2.1", "alice").retry_after
    assert wait is not None and wait <= throttle.account_policy.max_delay
    now[0] += wait
    assert throttle.attempt("192.0.2.1", "alice").retry_after is None
    store.close()


@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop", "aaaaaaaaaaaa",
                                      "carol1234", "short"])  # fmt: skip
def test_weak_passwords_are_refused_wherever_they_are_set(store: RunStore, password: str) -> None:
    users = UserStore(store.engine)
    with pytest.raises(WeakPasswordError) as caught:
        users.create("carol", password, Role.VIEWER)
    assert list(caught.value.field_errors) == ["password"]
    assert users.find("carol") is None
    carol = users.create("carol", "a-long-river-walk", Role.VIEWER)
    with pytest.raises(WeakPasswordError):
        users.update(carol.id, password=password)
    assert users.authenticate("carol", "a-long-river-walk") == carol
    users.delete(carol.id)
    weak = Settings(home=Path("/nonexistent"), admin_password=password)
    with pytest.raises(WeakPasswordError) as bootstrap:
        ensure_admin(users, weak)  # the first admin, from HOIST_ADMIN_PASSWORD
    assert list(bootstrap.value.field_errors) == ["HOIST_ADMIN_PASSWORD"]
    assert users.count() == 0
    store.close()


def test_a_new_password_revokes_sessions_and_api_tokens(store: RunStore) -> None:
    users, creds = UserStore(store.engine), CredentialStore(store.engine)
    dave = users.create("dave", "dave-first-secret", Role.OPERATOR)
    _, secret = creds.create_token(dave.id, "laptop")
    session_id, _ = creds.create_session(dave.id)
    users.update(dave.id, role=Role.VIEWER)  # other changes keep them
    assert creds.token_user(secret) is not None and creds.session(session_id) is not None
    users.update(dave.id, password="dave-second-secret")
    assert creds.token_user(secret) is None  # a token leaked with the old password dies
    assert creds.session(session_id) is None
    assert all(t.revoked_at is not None for t in creds.list_tokens(dave.id))
    store.close()


def test_sessions_and_tokens_expire_on_the_store_clock(store: RunStore) -> None:
    now = [1_000_000.0]
    users = UserStore(store.engine, clock=lambda: now[0])
    creds = CredentialStore(store.engine, session_ttl=60, clock=lambda: now[0])
    bob = users.create("bob", "bob-password", Role.OPERATOR)
    session_id, session = creds.create_session(bob.id)
    assert session.expires_at == now[0] + 60
    _, secret = creds.create_token(bob.id, "short", expires_at=now[0] + 30)
    now[0] += 29
    assert creds.session(session_id) == session
    assert creds.token_user(secret) is not None
    now[0] += 1
    assert creds.token_user(secret) is None  # expired at its expires_at
    assert creds.session(session_id) == session
    now[0] += 30
    assert creds.session(session_id) is None  # expired after the session TTL
    store.close()
