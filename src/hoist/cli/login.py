"""``hoist login`` and ``hoist logout``: an API token for the CLI, per server.

``login`` signs in with a username and password (prompted without echo, or read from
stdin with ``--password-stdin``; never an option value, which would land in the shell's
history), creates an API token named after this machine, ends the password session, and
saves the token in ``HOIST_HOME/credentials.json`` (mode 0600). ``logout`` revokes that
token on the server and removes it locally.
"""

from __future__ import annotations

import contextlib
import socket
import sys

import click

from hoist.cli.credentials import forget, load, lookup, normalize_url, remember
from hoist.cli.remote import NotLoggedInError, api_errors
from hoist.errors import UserInputError
from hoist.runs.runtime import Runtime

__all__ = ["login_cmd", "logout_cmd"]

_SERVER_HELP = "The Hoist server (default: the global --server / HOIST_SERVER_URL)."


def _server(runtime: Runtime, server: str | None) -> str:
    url = server or runtime.settings.server_url
    if not url:
        raise click.UsageError("give the server: hoist login --server URL")
    return normalize_url(url)


@click.command("login")
@click.option("--server", help=_SERVER_HELP)
@click.option(
    "--username",
    "-u",
    help="Your account. Default: asked for (offering your login name) in a terminal; "
    "your login name with --password-stdin.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (for scripts).")
@click.option(
    "--expires-days",
    type=click.FloatRange(min=0, min_open=True, max=3650),
    default=90,
    show_default=True,
    help="Lifetime of the CLI's token.",
)
@click.pass_obj
def login_cmd(
    runtime: Runtime,
    server: str | None,
    username: str | None,
    password_stdin: bool,
    expires_days: float,
) -> None:
    """Sign in to a Hoist server and keep an API token for the CLI (exit 2 if refused).

    Without --username, the account is your login name (asked for in a terminal, with it
    as the default). Scripts: `echo "$PASSWORD" | hoist login --server URL -u NAME
    --password-stdin`, or use an API token directly (HOIST_TOKEN, `Authorization: Bearer`).
    A script that logs in over HTTP with a password (POST /api/v1/auth/login) gets a
    session cookie and a csrf_token: it sends the token in the X-CSRF-Token header with
    every POST, PUT and DELETE.
    """
    from hoist.client import APIError, AuthError, HoistClient, RateLimitedError

    url = _server(runtime, server)
    if password_stdin:
        username = username or _login_name()
        if not username:
            raise click.UsageError("--password-stdin needs --username (no login name found)")
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        username = username or click.prompt("Username", default=_login_name() or None)
        password = click.prompt("Password", hide_input=True)
    if not password:
        raise click.UsageError("the password is empty")
    assert username is not None
    old = lookup(runtime.settings.home, url)
    with api_errors(url), HoistClient(url) as client:
        try:
            user = client.login(username, password)
        except RateLimitedError as exc:
            raise UserInputError(f"login refused: {exc.detail}") from exc
        except AuthError as exc:
            raise UserInputError(f"login refused: {exc.detail}") from exc
        name = f"hoist-cli@{socket.gethostname()}"[:100]
        created = client.create_token(name, expires_in_days=expires_days)
        client.logout()  # the password session is not needed any more
        client.token = created["token"]
        if old is not None and old.get("token_id"):
            # The previous login's token: revoke it rather than leave it around (it may
            # be revoked or expired already, or belong to another account).
            with contextlib.suppress(APIError):
                client.revoke_token(str(old["token_id"]))
    path = remember(runtime.settings.home, url, created["token"], created["info"]["id"],
                    str(user["username"]))  # fmt: skip
    click.echo(f"logged in to {url} as {user['username']} ({user['role']}); token in {path}")


def _login_name() -> str:
    """This machine's login name (``LOGNAME``, ``USER``, ... or the password database),
    or ``""`` when there is none."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


@click.command("logout")
@click.option("--server", help=_SERVER_HELP)
@click.pass_obj
def logout_cmd(runtime: Runtime, server: str | None) -> None:
    """Revoke the CLI's token on the server and forget it (exit 2 if none is saved)."""
    from hoist.client import AuthError, HoistClient

    home = runtime.settings.home
    if server is None and runtime.settings.server_url is None:
        saved = list(load(home))
        if len(saved) != 1:
            raise click.UsageError("give the server: hoist logout --server URL")
        server = saved[0]
    url = _server(runtime, server)
    entry = lookup(home, url)
    if entry is None:
        raise NotLoggedInError(url, f"no saved token for {url}")
    with api_errors(url), HoistClient(url, str(entry["token"])) as client:
        try:
            client.logout()  # revokes the token this request carries
        except AuthError:
            click.echo("the token was already expired or revoked", err=True)
    forget(home, url)
    click.echo(f"logged out of {url}")
