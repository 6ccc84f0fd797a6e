"""``hoist tokens create``: an API token for an account, on the store directly."""

from __future__ import annotations

import time

import click

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
