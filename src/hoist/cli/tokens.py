"""``hoist tokens create|list|revoke``: API tokens of the accounts, on the store directly."""

from __future__ import annotations

import json
import time

import click
from rich.console import Console
from rich.table import Table

from hoist.errors import UserInputError
from hoist.runs.runtime import Runtime

__all__ = ["tokens"]


@click.group("tokens")
def tokens() -> None:
    """API tokens for the CLI and remote workers."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), help="Lifetime.")
@click.option(
    "--worker",
    is_flag=True,
    help="A remote worker's token: the only kind that may post runs and events to the "
    "server (each only to the runs it created). Needs an operator or admin.",
)
@click.pass_obj
def create_cmd(
    runtime: Runtime, username: str, name: str, expires_days: float | None, worker: bool
) -> None:
    """Create a token for USERNAME and print it (shown only this once)."""
    from hoist.server.accounts import CredentialStore, Role, TokenKind, UserNotFoundError, UserStore

    engine = runtime.store.engine
    users = UserStore(engine)
    user = users.find(username)
    if user is None:
        raise UserNotFoundError(username, [u.username for u in users.list()])
    if worker and not user.role.allows(Role.OPERATOR):
        raise UserInputError(f"a worker token needs the operator role; {username} is a {user.role}")
    expires = None if expires_days is None else time.time() + expires_days * 86400
    kind = TokenKind.WORKER if worker else TokenKind.USER
    _, secret = CredentialStore(engine).create_token(user.id, name, expires, kind=kind)
    click.echo(secret)


def _state(token: object, now: float) -> str:
    revoked = getattr(token, "revoked_at", None)
    expires = getattr(token, "expires_at", None)
    if revoked is not None:
        return "revoked"
    if expires is not None and expires <= now:
        return "expired"
    return "active"


@tokens.command("list")
@click.argument("username", required=False)
@click.option(
    "--all", "show_all", is_flag=True, help="Also revoked and expired tokens (default: active)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON (no secrets).")
@click.pass_obj
def list_cmd(runtime: Runtime, username: str | None, show_all: bool, as_json: bool) -> None:
    """List API tokens (of USERNAME, or of every account), newest first; a token's secret
    is never shown again, only the prefix it starts with."""
    from hoist.cli.render import when
    from hoist.server.accounts import CredentialStore, UserNotFoundError, UserStore

    engine = runtime.store.engine
    users = UserStore(engine)
    names = {u.id: u.username for u in users.list()}
    owner = None
    if username is not None:
        user = users.find(username)
        if user is None:
            raise UserNotFoundError(username, list(names.values()))
        owner = user.id
    now = time.time()
    found = [
        t
        for t in CredentialStore(engine).list_tokens(owner)
        if show_all or _state(t, now) == "active"
    ]
    if as_json:
        rows = [{"id": t.id, "user": names.get(t.user_id, t.user_id), "name": t.name,
                 "kind": str(t.kind), "prefix": t.prefix, "state": _state(t, now),
                 "created_at": t.created_at, "last_used_at": t.last_used_at,
                 "expires_at": t.expires_at, "revoked_at": t.revoked_at}
                for t in found]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        click.echo("no tokens")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("ID", "USER", "NAME", "KIND", "STATE", "CREATED", "EXPIRES", "LAST USED"):
        table.add_column(column, no_wrap=column == "ID")
    for t in found:
        table.add_row(t.id, names.get(t.user_id, t.user_id), t.name, str(t.kind),
                      _state(t, now), when(t.created_at, short=True),
                      when(t.expires_at, short=True), when(t.last_used_at, short=True))  # fmt: skip
    Console().print(table)


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_obj
def revoke_cmd(runtime: Runtime, token_id: str) -> None:
    """Revoke the token TOKEN_ID (see `hoist tokens list`); servers refuse it within a
    second. Exit 2 when there is no such token."""
    from hoist.server.accounts import CredentialStore

    credentials = CredentialStore(runtime.store.engine)
    token = credentials.get_token(token_id)  # TokenNotFoundError: exit 2
    if token.revoked_at is not None:
        click.echo(f"token {token.id} ({token.name}) was already revoked")
        return
    credentials.revoke_token(token.id)
    click.echo(f"revoked token {token.id} ({token.name})")
