"""``hoist plugins list|show|sync|package|publish|install``: find plugins, show their
actions, update config.yaml; package a plugin, publish it to a storage location, install
a published one."""

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
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.option(
    "--remote",
    metavar="LOCATION",
    help="List the plugin versions published at a storage location (a name or a URL).",
)
@click.pass_obj
def list_cmd(runtime: Any, paths: tuple[Path, ...], as_json: bool, remote: str | None) -> None:
    """Plugins (folders with a config.yaml) under PATHS (default: this folder and the
    folder `hoist plugins install` fills), and those installed packages declare (entry
    points in the hoist.plugins group); with --remote, what a storage location holds."""
    from hoist.plugins.discovery import discover_plugins

    if remote is not None:
        if paths:
            raise click.UsageError("give either PATHS or --remote, not both")
        _list_remote(remote, runtime.settings, as_json)
        return
    found = discover_plugins(*(paths or runtime.settings.plugin_search_paths))
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
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


@plugins.command("package")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the archive and its .sha256 to (default: PATH/dist).",
)
def package_cmd(path: Path, out: Path | None) -> None:
    """Write the plugin in PATH as a reproducible <code>-<version>.tar.gz (the same files
    give the same bytes), leaving out what .hoistignore names, with a manifest inside
    and a .sha256 beside it."""
    from hoist.plugins.packaging import build_package

    built = build_package(path, out)
    size = built.archive.stat().st_size
    click.secho(f"packaged {built.archive}", fg="green")
    click.echo(f"  {len(built.manifest.files)} files, {_size(size)}")
    click.echo(f"  sha256 {built.sha256}  ({built.checksum_file.name})")


@plugins.command("publish")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--to",
    "to",
    required=True,
    metavar="LOCATION",
    help="A storage location: a name from the storage config, or a URL.",
)
@click.option("--force", is_flag=True, help="Replace the version if it is published.")
@click.pass_obj
def publish_cmd(runtime: Any, path: Path, to: str, force: bool) -> None:
    """Upload PATH (a plugin folder, packaged first, or a package archive) and its
    checksum to LOCATION under <code>/<version>/. A published version is not replaced
    without --force."""
    from hoist.plugins.packaging import publish_plugin

    published = publish_plugin(path, to, force=force, settings=runtime.settings)
    click.secho(f"published {published.code} {published.version}", fg="green")
    click.echo(f"  {published.url}")
    ref = published.url if "://" in to else f"{to}:{published.code}@{published.version}"
    click.echo(f"  install:  hoist plugins install {ref}")


@plugins.command("install")
@click.argument("source", metavar="URL|PATH|LOCATION:CODE[@VERSION]")
@click.option(
    "--into",
    type=click.Path(file_okay=False, path_type=Path),
    help="Plugin folder to install into (default: the first of HOIST_PLUGIN_PATHS, "
    "else <home>/plugins).",
)
@click.option("--sha256", help="The archive's expected sha256 (default: its .sha256 file).")
@click.option("--force", is_flag=True, help="Replace an installed plugin of the same code.")
@click.pass_obj
def install_cmd(
    runtime: Any, source: str, into: Path | None, sha256: str | None, force: bool
) -> None:
    """Install a plugin package: download it, check its sha256, and unpack it into the
    plugin folder (refused, nothing written, when the checksum differs or an entry
    would leave the folder)."""
    from hoist.plugins.packaging import install_plugin

    if sha256 is not None and not _is_sha256(sha256):
        raise click.BadParameter("must be 64 hex digits", param_hint="--sha256")
    installed = install_plugin(
        source, into=into, sha256=sha256, force=force, settings=runtime.settings
    )
    manifest = installed.manifest
    click.secho(f"installed {manifest.code} {manifest.version} in {installed.path}", fg="green")
    if manifest.requirements:
        click.echo(f"  requirements: {', '.join(manifest.requirements)}")
    click.echo(f"  try it:  hoist plugins show {installed.path}")


def _list_remote(remote: str, settings: Any, as_json: bool) -> None:
    from hoist.plugins.packaging import list_published

    published = list_published(remote, settings=settings)
    if as_json:
        rows = [
            {"code": p.code, "version": p.version, "path": p.path, "url": p.url,
             "size": p.size, "complete": p.complete,
             "modified": p.modified.isoformat() if p.modified else None}
            for p in published
        ]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    if not published:
        click.echo(f"nothing published at {remote}")
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("CODE", "VERSION", "SIZE", "PUBLISHED", "ARCHIVE"):
        table.add_column(column)
    for p in published:
        when = p.modified.strftime("%Y-%m-%d %H:%M") if p.modified else ""
        size = _size(p.size) if p.size is not None else ""
        note = "" if p.complete else " (incomplete: no .sha256)"
        table.add_row(p.code, p.version, size, when, p.path + note)
    Console().print(table)


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


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
