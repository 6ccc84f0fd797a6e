"""``hoist strategies list|explain``: the deployment strategies this machine can use."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from hoist.deployment.registry import StrategyRegistry
from hoist.runs.runtime import Runtime

__all__ = ["registry_of", "strategies"]


def registry_of(runtime: Runtime) -> StrategyRegistry:
    """The strategies of the CLI's settings (built-in, ``HOIST_STRATEGY_PATHS``, entry
    points), discovered for this command."""
    return StrategyRegistry(runtime.settings.strategy_paths)


@click.group("strategies")
def strategies() -> None:
    """The deployment strategies: what each one runs and when to choose it."""


@strategies.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.pass_obj
def list_cmd(runtime: Runtime, as_json: bool) -> None:
    """Working strategies (name, description, provider); broken folders with their error."""
    registry = registry_of(runtime)
    working = [registry.definition(n) for n in registry.list_strategies()]
    broken = registry.broken()
    if as_json:
        data = {
            "strategies": [_summary(d) for d in working],
            "broken": [
                {"name": d.name, "path": str(d.path), "source": d.source,
                 "error": d.error.message if d.error else ""}
                for d in broken
            ],
        }  # fmt: skip
        click.echo(json.dumps(data, indent=2))
    elif not working:
        click.echo("no strategies found")
    else:
        table = Table(show_edge=False, header_style="bold")
        for column in ("NAME", "PROVIDER", "INTERFACE", "DESCRIPTION", "FROM"):
            table.add_column(column, no_wrap=column == "NAME")
        for d in working:
            s = _summary(d)
            table.add_row(s["name"], s["provider"] or "-", s["interface"] or "-",
                          s["description"], d.source)  # fmt: skip
        Console().print(table)
    for d in broken:
        message = d.error.message if d.error else "unreadable"
        click.secho(f"broken strategy {d.name}: {message}", fg="red", err=True)


@strategies.command("explain")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.pass_obj
def explain_cmd(runtime: Runtime, name: str, as_json: bool) -> None:
    """Print strategy NAME's selector instruction (when to choose it) and its config."""
    registry = registry_of(runtime)
    definition = registry.definition(name)  # unknown or broken: exit 2 naming why
    config = registry.get_strategy(name).model_dump(exclude_none=True)
    instruction = definition.selector_instruction.strip()
    if as_json:
        data = {**_summary(definition), "config": config, "selector_instruction": instruction}
        click.echo(json.dumps(data, indent=2, default=str))
        return
    console = Console()
    console.print(f"[bold]{definition.name}[/] [dim]({definition.source}: {definition.path})")
    if instruction:
        console.print(Markdown(instruction))
    config_file = definition.path / "config.yaml"
    console.print(f"\n[bold]config.yaml[/] [dim]({config_file})")
    console.print(config_file.read_text().rstrip(), markup=False, highlight=False)


def _summary(definition: Any) -> dict[str, Any]:
    config = definition.config
    return {
        "name": definition.name,
        "description": " ".join(config.description.split()),
        "provider": config.provider,
        "interface": config.interface,
        "source": definition.source,
        "path": str(definition.path),
    }
