"""``hoist mcp``: the MCP server for AI agents (stdio or streamable HTTP), and
``hoist mcp config``: what a client's configuration needs to start or reach it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import click

from hoist.cli.params import log_level_option
from hoist.errors import MissingExtraError
from hoist.runs.runtime import Runtime
from hoist.settings import Settings

__all__ = ["mcp"]

_PLUGINS_HELP = "A folder to find plugins in (repeatable). Env: HOIST_PLUGIN_PATHS."
_EXPOSE_HELP = (
    "Expose only these plugins or actions to agents: `plugin`, `plugin.action`, wildcards "
    "(repeatable). Env: HOIST_MCP_EXPOSE (comma-separated)."
)


def _require_sdk() -> None:
    if importlib.util.find_spec("mcp") is None:
        raise MissingExtraError("mcp", "mcp")


def _settings(
    runtime: Runtime, plugin_paths: tuple[Path, ...], expose: tuple[str, ...]
) -> Settings:
    changes: dict[str, Any] = {}
    if plugin_paths:
        changes["plugin_paths"] = tuple(p.resolve() for p in plugin_paths)
    if expose:
        changes["mcp_expose"] = expose
    return runtime.settings.with_(**changes) if changes else runtime.settings


@click.group("mcp", invoke_without_command=True)
@click.option(
    "--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True,
    help="stdio for a local client (acts as you); http for remote ones (API tokens).",
)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Address (http).")
@click.option("--port", type=click.IntRange(0, 65535), default=8466, show_default=True,
              help="Port (http).")  # fmt: skip
@click.option("--plugins", "plugin_paths", multiple=True,
              type=click.Path(file_okay=False, path_type=Path), help=_PLUGINS_HELP)  # fmt: skip
@click.option("--expose", multiple=True, metavar="PATTERN", help=_EXPOSE_HELP)
@log_level_option
@click.pass_context
def mcp(
    ctx: click.Context,
    transport: str,
    host: str,
    port: int,
    plugin_paths: tuple[Path, ...],
    expose: tuple[str, ...],
    log_level: str,
) -> None:
    """Serve Hoist to AI agents over the Model Context Protocol.

    Agents list plugins, actions and pipelines, run them (one tool per action, its params
    as the tool's schema), wait with progress, read runs, events and files as
    resources, cancel and resume. `hoist serve` also serves it at /mcp. Start it from a
    client with the snippet `hoist mcp config` prints.
    """
    if ctx.invoked_subcommand is not None:
        return
    _require_sdk()
    runtime: Runtime = ctx.obj
    settings = _settings(runtime, plugin_paths, expose)
    if transport == "stdio":
        import anyio

        from hoist.mcp.transports import run_stdio

        anyio.run(run_stdio, settings)
        return
    import uvicorn

    from hoist.mcp.transports import MCP_PATH, http_app

    click.echo(f"hoist MCP on http://{host}:{port}{MCP_PATH} (store {runtime.store.safe_url})",
               err=True)  # fmt: skip
    uvicorn.run(http_app(settings), host=host, port=port, log_level=log_level, ws="none")


@mcp.command("config")
@click.option("--server", "url", metavar="URL",
              help="A Hoist server's URL: its HTTP entry (a token header), not stdio.")  # fmt: skip
@click.option("--name", default="hoist", show_default=True, help="The server's name in the client.")
@click.option("--plugins", "plugin_paths", multiple=True,
              type=click.Path(file_okay=False, path_type=Path), help=_PLUGINS_HELP)  # fmt: skip
@click.option("--expose", multiple=True, metavar="PATTERN", help=_EXPOSE_HELP)
@click.pass_obj
def config_cmd(
    runtime: Runtime,
    url: str | None,
    name: str,
    plugin_paths: tuple[Path, ...],
    expose: tuple[str, ...],
) -> None:
    """Print the JSON a client's configuration needs (Claude Desktop's `mcpServers`).

    For stdio: the command (this Python, `-m hoist.mcp`) and the environment naming this
    store and these plugins. With --server: the server's /mcp URL and an Authorization
    header to fill in with an API token (`hoist tokens create`). No secret is printed.
    """
    from hoist.mcp.client_config import client_config

    settings = _settings(runtime, plugin_paths, expose)
    click.echo(json.dumps(client_config(settings, url=url, name=name), indent=2))
