"""The ``hoist`` root command: global options, settings, and the exit-code table.

Exit codes: 0 success, 1 the action (or run) failed, 2 bad input, 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from hoist._entrypoints import resolve_entrypoint
from hoist._version import __version__
from hoist.errors import HoistError, ParamsValidationError

__all__ = ["cli", "main"]

# httpx imports its own command line (rich, pygments, click's console) when they are
# installed, as here: ~45 ms of every remote command's start-up (issue 19) for a `main`
# this process never calls. Marked absent, httpx defines a stub instead.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


class _LazyGroup(click.Group):
    """Imports a command group's module only when that group is used."""

    _commands = {
        "run": "hoist.cli.run:run_cmd",
        "runs": "hoist.cli.runs:runs",
        "plugins": "hoist.cli.plugins:plugins",
        "new": "hoist.cli.new:new_cmd",
        "pipeline": "hoist.cli.pipeline:pipeline",
        "serve": "hoist.cli.serve:serve_cmd",
        "service": "hoist.cli.service:service",
        "users": "hoist.cli.users:users",
        "tokens": "hoist.cli.tokens:tokens",
        "login": "hoist.cli.login:login_cmd",
        "logout": "hoist.cli.login:logout_cmd",
        "strategies": "hoist.cli.strategies:strategies",
        "deploy": "hoist.cli.deploy:deploy_cmd",
        "deployments": "hoist.cli.deployments:deployments",
        "datasets": "hoist.cli.datasets:datasets",
        "mcp": "hoist.cli.mcp:mcp",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._commands)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._commands.get(cmd_name)
        if target is None:
            return None
        command: click.Command = resolve_entrypoint(target)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="hoist")
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="State folder (default ~/.hoist). Env: HOIST_HOME.",
)
@click.option(
    "--database-url",
    help="Run store URL (default: SQLite in the home folder). Env: HOIST_DATABASE_URL.",
)
@click.option(
    "--server",
    help="A Hoist server: `run`, `runs` and `pipeline` go through its API (log in first "
    "with `hoist login --server URL`). Env: HOIST_SERVER_URL.",
)
@click.pass_context
def cli(
    ctx: click.Context, home: Path | None, database_url: str | None, server: str | None
) -> None:
    """Hoist: typed plugin actions you can run anywhere, chain, watch and deploy."""
    from hoist.runs.runtime import Runtime
    from hoist.settings import Settings

    settings = Settings.from_env()
    changes: dict[str, Any] = {}
    if home is not None:
        changes["home"] = home.expanduser()
    if database_url:
        changes["database_url"] = database_url
    if server is not None:
        changes["server_url"] = server or None
    # The CLI owns its runtime; it never replaces the process-wide one, so calling the
    # CLI in-process (tests, notebooks) leaves the caller's store and sink alone.
    runtime = Runtime(settings.with_(**changes) if changes else settings)
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hoist`` script: runs the CLI and maps errors to exit codes."""
    sys.exit(run_cli(argv))


def run_cli(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting."""
    try:
        result = cli.main(args=argv, prog_name="hoist", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except HoistError as exc:
        report_error(exc)
        return exc.exit_code
    return result if isinstance(result, int) else 0


def report_error(exc: HoistError) -> None:
    """Print a Hoist error to stderr in the CLI's style."""
    if isinstance(exc, ParamsValidationError):
        click.secho("error: invalid params", fg="red", err=True)
        for field, messages in exc.field_errors.items():
            for message in messages:
                click.echo(f"  {field}: {message}", err=True)
        return
    click.secho(f"error: {exc.message}", fg="red", err=True)
