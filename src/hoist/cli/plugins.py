"""``hoist plugins list|show|sync``: find plugins, show their actions, update config.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

__all__ = ["plugins"]


@click.group("plugins")
def plugins() -> None:
    """Find plugins and show what their actions take."""


@plugins.command("list")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def list_cmd(paths: tuple[Path, ...], as_json: bool) -> None:
    """Plugins (folders with a config.yaml) under PATHS (default: this folder), and
    those installed packages declare (entry points in the hoist.plugins group)."""
    from hoist.plugins.discovery import discover_plugins

    found = discover_plugins(*paths)
    if as_json:
        click.echo(json.dumps([_summary(p) for p in found], indent=2))
    elif not found:
        click.echo("no plugins found")
    else:
        table = Table(show_edge=False, header_style="bold")
        for column in ("CODE", "NAME", "VERSION", "CATEGORY", "ACTIONS", "FROM"):
            table.add_column(column)
        for p in found:
            s = _summary(p)
            table.add_row(s["code"], s["name"], s["version"], s["category"],
                          ", ".join(s["actions"]), p.origin)  # fmt: skip
        Console().print(table)
    for error in found.errors:
        click.secho(f"broken plugin: {error.message}", fg="red", err=True)


@plugins.command("show")
@click.argument("plugin")
@click.option("--json", "as_json", is_flag=True)
def show_cmd(plugin: str, as_json: bool) -> None:
    """Show PLUGIN's actions and their params (works without the plugin's dependencies)."""
    from hoist.plugins.discovery import load_plugin

    definition = load_plugin(plugin)
    actions, note = _actions(definition)
    if as_json:
        data = _summary(definition)
        data["actions"] = actions
        data["pipelines"] = list((definition.config.pipelines or {}).keys())
        click.echo(json.dumps(data, indent=2, default=str))
        return
    console = Console()
    cfg = definition.config
    console.print(f"[bold]{cfg.name}[/] ({cfg.code} {cfg.version}, {cfg.category})")
    if cfg.description:
        console.print(cfg.description)
    if note:
        console.print(f"[yellow]{note}")
    for action in actions:
        console.print(f"\n[bold cyan]{action['name']}[/]  [dim]{action['entrypoint']}[/]")
        if action.get("description"):
            console.print(f"  {action['description']}")
        types = [f"{k}: {action[k]}" for k in ("input_type", "output_type") if action.get(k)]
        if types:
            console.print("  [dim]" + ", ".join(types))
        table = Table(show_edge=False, header_style="dim", box=None, padding=(0, 2))
        for column in ("param", "type", "default", "rules", "description"):
            table.add_column(column)
        for param in action["params"]:
            default = "[red]required[/]" if param["required"] else repr(param["default"])
            rules = ", ".join(f"{k} {v}" for k, v in param["constraints"].items())
            table.add_row(param["name"], param["type"], default, rules, param["description"])
        console.print(table)
    pipelines = cfg.pipelines or {}
    if pipelines:
        console.print(f"\n[bold]pipelines:[/] {', '.join(pipelines)}")


@plugins.command("sync")
@click.argument("plugin", type=click.Path(exists=True, path_type=Path))
@click.option("--ast", "use_ast", is_flag=True, default=None, help="Scan sources only.")
@click.option("--prune", is_flag=True, help="Remove entries whose code is gone.")
@click.option("--dry-run", is_flag=True, help="Report, do not write.")
def sync_cmd(plugin: Path, use_ast: bool | None, prune: bool, dry_run: bool) -> None:
    """Write PLUGIN's discovered actions into its config.yaml (comments are kept)."""
    from hoist.plugins.sync import sync_config

    report = sync_config(plugin, use_ast=use_ast, prune=prune, write=not dry_run)
    outcome = {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "missing (kept)": report.missing,
    }
    for label, names in outcome.items():
        if names:
            click.echo(f"{label}: {', '.join(names)}")
    for warning in report.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if not report.changed:
        click.echo(f"{report.path} is up to date")
    elif dry_run:
        click.echo(f"{report.path} would change (dry run)")
    else:
        click.secho(f"updated {report.path}", fg="green")


def _summary(definition: Any) -> dict[str, Any]:
    cfg = definition.config
    return {
        "code": cfg.code,
        "name": cfg.name,
        "version": cfg.version,
        "category": str(cfg.category),
        "actions": definition.action_names(),
        "path": str(definition.root or definition.module or ""),
        "distribution": _distribution(definition),
    }


def _distribution(definition: Any) -> dict[str, str] | None:
    """The installed package an entry-point plugin came from."""
    dist = definition.distribution
    return None if dist is None else {"name": dist.name, "version": dist.version}


def _actions(definition: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Actions with params: imported when possible, else read from the source (AST)."""
    from hoist.plugins.scan import model_params

    out: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in definition.action_names():
        cfg = definition.action_config(name)
        entry: dict[str, Any] = {
            "name": name, "entrypoint": cfg.entrypoint, "method": cfg.method,
            "description": cfg.description, "input_type": cfg.input_type,
            "output_type": cfg.output_type, "params": [], "source": "import",
        }  # fmt: skip
        try:
            cls = definition.load_action(name)
        except Exception as exc:
            failed.append(f"{name}: {exc}")
            entry["source"] = "ast"
        else:
            entry["description"] = entry["description"] or cls.description
            entry["params"] = [vars(p) for p in model_params(cls.params_model)]
        out.append(entry)
    if failed and definition.root is not None:
        from hoist.plugins.ast_scan import ast_scan_plugin

        by_entrypoint = {a.entrypoint: a for a in ast_scan_plugin(definition.root)}
        for entry in out:
            found = by_entrypoint.get(entry["entrypoint"])
            if entry["source"] == "ast" and found is not None:
                entry["params"] = [vars(p) for p in found.params]
                entry["description"] = entry["description"] or found.description
    note = None
    if failed:
        note = "read from source, the plugin does not import here: " + "; ".join(failed)
    return out, note
