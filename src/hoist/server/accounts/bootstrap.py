"""First start: the signing secret and the first admin account. Nothing has a default
value: the secret is configured or generated once (mode 0600), and the admin's password
is configured (and must pass the password rules) or generated and printed once."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from hoist.errors import HoistError
from hoist.server.accounts.models import AccountConflictError, Role
from hoist.server.accounts.passwords import generate_password
from hoist.server.accounts.policy import check_password
from hoist.server.accounts.users import UserStore
from hoist.settings import Settings, variable_of

__all__ = ["ADMIN_USERNAME", "check_admin_password", "ensure_admin", "load_secret_key"]

ADMIN_USERNAME = "admin"
"""The name of the account created on first start."""

_MIN_SECRET = 32
_ADMIN_VAR = variable_of("admin_password")


def load_secret_key(settings: Settings) -> str:
    """``settings.secret_key``, or the key in ``HOIST_HOME/secret_key`` (created on first
    use with 64 random bytes, readable by the owner only).

    Raises:
        HoistError: the configured key is too short, or the key file is unreadable.
    """
    if settings.secret_key:
        if len(settings.secret_key) < _MIN_SECRET:
            raise HoistError(f"HOIST_SECRET_KEY must have at least {_MIN_SECRET} characters")
        return settings.secret_key
    path = settings.home / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        _create_secret_file(path)
    key = path.read_text().strip()
    if len(key) < _MIN_SECRET:
        raise HoistError(f"{path} holds no usable key; delete it to generate a new one")
    return key


def _create_secret_file(path: Path) -> None:
    # O_EXCL: of several processes starting at once, exactly one writes the key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(64))


def check_admin_password(settings: Settings) -> None:
    """Refuse a configured ``HOIST_ADMIN_PASSWORD`` that breaks the password rules.

    Raises:
        WeakPasswordError: naming ``HOIST_ADMIN_PASSWORD``.
    """
    if settings.admin_password:
        check_password(settings.admin_password, username=ADMIN_USERNAME, field=_ADMIN_VAR)


def ensure_admin(users: UserStore, settings: Settings) -> str | None:
    """Create the first admin when there are no accounts yet.

    Returns:
        The generated password, to print once; ``None`` when nothing was generated
        (accounts exist, or the password came from ``HOIST_ADMIN_PASSWORD``).

    Raises:
        WeakPasswordError: ``HOIST_ADMIN_PASSWORD`` breaks the password rules.
    """
    if users.count():
        return None
    password = settings.admin_password or generate_password()
    try:
        users.create(ADMIN_USERNAME, password, Role.ADMIN, password_field=_ADMIN_VAR)
    except AccountConflictError:
        return None  # another server process created it first
    return None if settings.admin_password else password
