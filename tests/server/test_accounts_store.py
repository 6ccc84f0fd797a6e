"""Account tables on SQLite and PostgreSQL: the 0002 migration, users, tokens, sessions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hoist.runs.store import RunStore, migrate
from hoist.runs.store.migrate import current_revision
from hoist.runs.store.schema import HEAD_REVISION
from hoist.server.accounts import AccountConflictError, CredentialStore, Role, UserStore
from hoist.server.accounts.bootstrap import ensure_admin
from hoist.settings import Settings


@pytest.fixture
def store(store_url: str) -> RunStore:
    return RunStore(store_url)


def test_a_store_at_0001_is_upgraded_to_accounts(tmp_path: Path) -> None:
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
        assert current_revision(conn) == HEAD_REVISION == "0002"
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
        users.create("admin", "whatever-pw", Role.VIEWER)
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


def test_failed_logins_are_counted_within_their_window_only(store: RunStore) -> None:
    now = [1_000_000.0]
    users = UserStore(store.engine, clock=lambda: now[0])
    users.record_failed_login("bob|1.2.3.4", window=300)
    now[0] += 200
    users.record_failed_login("bob|1.2.3.4", window=300)
    assert users.failed_logins("bob|1.2.3.4", window=300) == (2, 1_000_000.0)
    assert users.failed_logins("eve|1.2.3.4", window=300) == (0, None)
    now[0] += 150  # the first failure is now older than the window
    assert users.failed_logins("bob|1.2.3.4", window=300) == (1, 1_000_200.0)
    now[0] += 300
    assert users.failed_logins("bob|1.2.3.4", window=300) == (0, None)
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
