"""``hoist tokens create``: an API token for an account, on the store directly."""

from __future__ import annotations

import time

import click

from hoist.runs.runtime import Runtime

__all__ = ["tokens"]


@click.group("tokens")
def tokens() -> None:
    """API tokens for the CLI and remote workers."""


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--expires-days", type=click.FloatRange(min=0, min_open=True), help="Lifetime.")
@click.pass_obj
def create_cmd(runtime: Runtime, username: str, name: str, expires_days: float | None) -> None:
    """Create a token for USERNAME and print it (shown only this once)."""
    from hoist.server.accounts import CredentialStore, UserNotFoundError, UserStore

    engine = runtime.store.engine
    users = UserStore(engine)
    user = users.find(username)
    if user is None:
        raise UserNotFoundError(username, [u.username for u in users.list()])
    expires = None if expires_days is None else time.time() + expires_days * 86400
    _, secret = CredentialStore(engine).create_token(user.id, name, expires)
    click.echo(secret)
