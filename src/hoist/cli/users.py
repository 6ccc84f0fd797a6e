"""``hoist users create|list|deactivate``: manage server accounts on the store directly
(no server or browser needed, e.g. to bootstrap an admin)."""

from __future__ import annotations

import json

import click

from hoist.runs.runtime import Runtime

__all__ = ["users"]

_ROLES = click.Choice(["viewer", "operator", "admin"])


@click.group("users")
def users() -> None:
    """Server accounts: create, list, deactivate."""


@users.command("create")
@click.argument("username")
@click.option("--role", type=_ROLES, default="viewer", show_default=True)
@click.option(
    "--password",
    help="At least 8 characters, not common or easy to guess. Default: a generated one, "
    "printed once.",
)
@click.pass_obj
def create_cmd(runtime: Runtime, username: str, role: str, password: str | None) -> None:
    """Create an account USERNAME with ROLE."""
    from hoist.server.accounts import Role, UserStore
    from hoist.server.accounts.passwords import generate_password

    secret = password or generate_password()
    user = UserStore(runtime.store.engine).create(username, secret, Role(role))
    click.echo(f"created {user.role} {user.username} ({user.id})")
    if password is None:
        click.echo(f"password: {secret}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.pass_obj
def list_cmd(runtime: Runtime, as_json: bool) -> None:
    """List accounts."""
    from hoist.server.accounts import UserStore

    found = UserStore(runtime.store.engine).list()
    if as_json:
        click.echo(json.dumps([{"id": u.id, "username": u.username, "role": str(u.role),
                                "active": u.active} for u in found], indent=2))  # fmt: skip
        return
    for user in found:
        state = "" if user.active else "  (deactivated)"
        click.echo(f"{user.username:<24} {user.role:<9} {user.id}{state}")


@users.command("deactivate")
@click.argument("username")
@click.pass_obj
def deactivate_cmd(runtime: Runtime, username: str) -> None:
    """Deactivate USERNAME: its sessions end and its tokens are revoked."""
    from hoist.server.accounts import UserNotFoundError, UserStore

    store = UserStore(runtime.store.engine)
    user = store.find(username)
    if user is None:
        raise UserNotFoundError(username, [u.username for u in store.list()])
    store.deactivate(user.id)
    click.echo(f"deactivated {username}")
