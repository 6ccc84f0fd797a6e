"""``hoist service run module:app``: a service's ASGI app (a ``ServeAPI``) on uvicorn,
listed on the Hoist servers' Services page (source ``local``) while it runs."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import click

from hoist._entrypoints import resolve_entrypoint
from hoist.cli.params import log_level_option
from hoist.errors import MissingExtraError
from hoist.runs.runtime import Runtime, configure
from hoist.settings import variable_of

__all__ = ["service"]

_STARTUP_FAILURE = 3  # uvicorn's exit code when the server did not start


@click.group("service")
def service() -> None:
    """Run agent services (ServeAPI apps) that record their launches as runs."""


@service.command("run")
@click.argument("app")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8005, show_default=True)
@click.option("--reload", is_flag=True, help="Restart when a source file changes.")
@click.option(
    "--app-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Import the app from this folder (default: the current folder).",
)
@log_level_option
@click.pass_obj
def run_cmd(
    runtime: Runtime,
    app: str,
    host: str,
    port: int,
    reload: bool,
    app_dir: Path | None,
    log_level: str,
) -> None:
    """Serve APP (``module:attribute``, e.g. ``my_service.app:app``) on uvicorn.

    Launches are recorded in the same run store as the CLI's (``--home``,
    ``--database-url``), so they show in ``hoist runs`` and the panel. Once it listens,
    the service lists itself on the Services page of the servers on that store (labelled
    local, no registration step) and is taken off when it exits.
    """
    for module in ("uvicorn", "fastapi"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError("server", module)
    import uvicorn

    from hoist.cli.service_listing import ListedServer, Listing

    folder = str((app_dir or Path.cwd()).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    # The app records into the process runtime: make it the one the options name.
    runtime = configure(runtime.settings, token=runtime.token)
    target = _load_app(app)
    if reload:
        # The reloader's worker process builds its runtime from the environment.
        os.environ[variable_of("home")] = str(runtime.settings.home)
        if runtime.settings.database_url:
            os.environ[variable_of("database_url")] = runtime.settings.database_url
    click.echo(f"service {app} on http://{host}:{port}", err=True)
    if getattr(target, "service_secret", None):
        click.echo(
            f"launches verify the Hoist server's signed identity (runs recorded in "
            f"{runtime.store.safe_url})",
            err=True,
        )
    else:
        click.echo(
            f"no {variable_of('service_secret')}: every launch runs as anonymous "
            f"(runs recorded in {runtime.store.safe_url})",
            err=True,
        )
    config = uvicorn.Config(
        app if reload else target,
        host=host,
        port=port,
        reload=reload,  # the app's folder is on sys.path (the reloader's workers inherit it)
        reload_dirs=[folder] if reload else None,  # watch the app's folder, not the cwd
        log_level=log_level,
        ws="none",
        timeout_graceful_shutdown=5,
    )
    listing = Listing(runtime, host, getattr(target, "openapi_url", None),
                      getattr(target, "title", None))  # fmt: skip
    try:
        if reload:  # the reloader's workers serve the socket bound here
            from uvicorn.supervisors import ChangeReload

            sock = config.bind_socket()
            listing.list(sock.getsockname()[1])
            ChangeReload(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
        else:
            config.load_app()
            server = ListedServer(config, listing)
            server.run()
            if not server.started:
                sys.exit(_STARTUP_FAILURE)
    except KeyboardInterrupt:
        pass
    finally:
        listing.unlist()


def _load_app(spec: str) -> Any:
    """Import ``module:attribute`` and check that it is an ASGI app.

    Raises:
        click.BadParameter: (exit code 2) malformed, not importable, missing or not an
            ASGI application.
    """
    if ":" not in spec:
        raise click.BadParameter(
            f"{spec!r} names no app: write module:attribute, e.g. my_service.app:app",
            param_hint="APP",
        )
    try:
        target = resolve_entrypoint(spec)
    except ModuleNotFoundError as exc:
        raise click.BadParameter(
            f"cannot import {spec!r}: {exc} (sys.path starts with {sys.path[0]})",
            param_hint="APP",
        ) from None
    except (AttributeError, ValueError) as exc:
        raise click.BadParameter(f"{spec!r} not found: {exc}", param_hint="APP") from None
    except Exception as exc:
        raise click.BadParameter(
            f"importing {spec!r} failed: {type(exc).__name__}: {exc}", param_hint="APP"
        ) from exc
    if not callable(target) or isinstance(target, type):
        raise click.BadParameter(
            f"{spec!r} is not an ASGI application (got {type(target).__name__})",
            param_hint="APP",
        )
    return target
