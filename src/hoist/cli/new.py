"""``hoist new CODE``: scaffold a plugin that runs right away."""

from __future__ import annotations

from pathlib import Path

import click

from hoist.plugins.categories import PluginCategory
from hoist.plugins.templates import TEMPLATE_CHOICES

__all__ = ["new_cmd"]


@click.command("new")
@click.argument("code")
@click.option(
    "--category",
    "-c",
    type=click.Choice(TEMPLATE_CHOICES),
    default=PluginCategory.CUSTOM.value,
    show_default=True,
    help="What the plugin does; decides the starter action (train, inference and dataset "
    "give one starter on that category base).",
)
@click.option("--name", help="Display name (default: from CODE).")
@click.option("--description", default="", help="One line about the plugin.")
@click.option(
    "--dir",
    "dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to create the plugin in.",
)
@click.option("--force", is_flag=True, help="Write into an existing, non-empty folder.")
def new_cmd(
    code: str, category: str, name: str | None, description: str, dest: Path, force: bool
) -> None:
    """Create plugin CODE: config.yaml, a plugin package and a runnable starter action."""
    from hoist.plugins.templates import scaffold_plugin

    root = scaffold_plugin(
        dest, code, name=name, category=category, description=description, force=force
    )
    from hoist.plugins.discovery import load_plugin

    actions = list(load_plugin(root).config.actions or {}) or ["<action>"]
    click.secho(f"created {root}", fg="green")
    click.echo(f"  try it:  hoist plugins show {root}")
    for name in actions:
        click.echo(f"           hoist run {root} {name}")
