"""``hoist serve``: the Hoist server (REST API, live streams, accounts) on uvicorn."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import click

from hoist.cli.params import log_level_option
from hoist.errors import MissingExtraError
from hoist.runs.runtime import Runtime

__all__ = ["serve_cmd"]


@click.command("serve")
@click.option("--host", help="Address to bind (default 127.0.0.1). Env: HOIST_SERVER_HOST.")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default 8465). Env: HOIST_SERVER_PORT."
)
@click.option(
    "--plugins",
    "plugin_paths",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder to find plugins in (repeatable; default: this folder). Env: HOIST_PLUGIN_PATHS.",
)
@click.option(
    "--register",
    "register",
    multiple=True,
    metavar="URL",
    callback=lambda ctx, param, urls: _service_urls(urls),
    help="A service to register at start-up, by its OpenAPI or Ray Serve /-/routes URL "
    "(repeatable; read in the background, start-up never waits on it).",
)
@log_level_option
@click.pass_obj
def serve_cmd(
    runtime: Runtime,
    host: str | None,
    port: int | None,
    plugin_paths: tuple[Path, ...],
    register: tuple[str, ...],
    log_level: str,
) -> None:
    """Serve the API on the same run store as the CLI.

    On first start an admin account is created and its password printed once (unless
    HOIST_ADMIN_PASSWORD sets it; it must pass the password rules). Several servers can
    share one PostgreSQL store. X-Forwarded-For is believed only from
    HOIST_TRUSTED_PROXIES. With the `mcp` extra, AI agents reach it at /mcp (MCP's
    streamable HTTP, an API token as bearer).
    """
    for module in ("uvicorn", "fastapi"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError("server", module)
    import uvicorn

    from hoist.server import create_app
    from hoist.server.accounts import UserStore
    from hoist.server.accounts.bootstrap import check_admin_password
    from hoist.server.app import uvicorn_options

    changes: dict[str, Any] = {}
    if host:
        changes["server_host"] = host
    if port is not None:
        changes["server_port"] = port
    if plugin_paths:
        changes["plugin_paths"] = plugin_paths
    settings = runtime.settings.with_(**changes) if changes else runtime.settings
    if not UserStore(runtime.store.engine).count():
        check_admin_password(settings)  # refused here: a clear message and exit code 2
    app = create_app(settings, runtime, register=register)
    base = f"http://{settings.server_host}:{settings.server_port}"
    mcp_note = ""
    if importlib.util.find_spec("mcp") is not None:
        from hoist.mcp.transports import MCP_PATH, mount_mcp

        mount_mcp(app)  # AI agents, with the same accounts and roles
        mcp_note = f"; MCP at {base}{MCP_PATH}"
    click.echo(f"hoist server on {base} (store {runtime.store.safe_url}){mcp_note}", err=True)
    uvicorn.run(
        app,
        host=settings.server_host,
        port=settings.server_port,
        log_level=log_level,
        ws="none",
        timeout_graceful_shutdown=5,
        **uvicorn_options(settings),  # bounded headers; forwarded ones from proxies only
    )


def _service_urls(urls: tuple[str, ...]) -> tuple[str, ...]:
    """``--register`` URLs, checked before the server starts (exit code 2 on a bad one)."""
    from hoist.errors import ParamsValidationError
    from hoist.server.service_models import check_service_url

    try:
        return tuple(check_service_url(url) for url in urls)
    except ParamsValidationError as exc:
        raise click.BadParameter(exc.field_errors["url"][0], param_hint="--register") from None
