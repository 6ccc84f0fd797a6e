"""``hoist deploy TARGET --strategy S``: deploy a code folder (or a plugin action, or an
app) and serve it in the foreground until interrupted.

Runners live in the process that started them, so ``hoist deploy`` keeps running while
the deployment serves; Ctrl-C (or SIGTERM, as ``hoist deployments stop`` sends) stops it
and its record becomes ``stopped``.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from hoist.deployment.manager import DeploymentManager
from hoist.deployment.models import DeployConfig
from hoist.deployment.records import DeploymentRecord
from hoist.errors import ParamsValidationError
from hoist.runs.runtime import Runtime

__all__ = ["deploy_cmd", "manager_of", "serve_until_stopped"]


def manager_of(runtime: Runtime, ready_timeout: float = 60.0) -> DeploymentManager:
    """A deployment manager on the CLI's runtime and strategies; closed (its runners
    stopped) with the runtime."""
    from hoist.cli.strategies import registry_of

    manager = DeploymentManager(runtime, registry=registry_of(runtime), ready_timeout=ready_timeout)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(manager.close)
    return manager


def setting_pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs of ``--set`` as a dict; a value that reads as a JSON scalar
    (``100``, ``0.5``, ``true``, ``null``) is that, anything else is text.

    Raises:
        ParamsValidationError: a pair without ``=``, or a JSON list or object.
    """
    settings: dict[str, Any] = {}
    for key, value in env_pairs(pairs, option="--set").items():
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = value
        if isinstance(parsed, dict | list):
            raise ParamsValidationError({"--set": [f"{key}: expected one value, got {value!r}"]})
        settings[key] = parsed
    return settings


def env_pairs(pairs: tuple[str, ...], option: str = "--env") -> dict[str, str]:
    """``KEY=VALUE`` pairs of ``option`` (``--env``) as a dict.

    Raises:
        ParamsValidationError: a pair without ``=`` or with an empty key.
    """
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ParamsValidationError({option: [f"expected KEY=VALUE, got {pair!r}"]})
        env[key.strip()] = value
    return env


@click.command("deploy")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--strategy", "-s", required=True, help="A strategy (`hoist strategies list`).")
@click.option("--name", help="The deployment's name (default: the folder's name).")
@click.option("--action", help="Deploy this action of the plugin folder TARGET.")
@click.option("--app", metavar="MODULE:APP", help="Serve this ASGI/ServeAPI app of TARGET.")
@click.option("--module", help="The module holding the callable (default: the strategy's).")
@click.option("--callable", "callable_", help="The callable (default: the strategy's).")
@click.option("--env", "env", multiple=True, metavar="KEY=VALUE",
              help="An environment variable of the deployed code (repeatable).")  # fmt: skip
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A strategy setting for this deployment (repeatable; 100, 0.5, true and "
                   "null are read as such, anything else as text).")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds one call may take.")  # fmt: skip
@click.option("--ready-timeout", type=click.FloatRange(min=0, min_open=True), default=60.0,
              show_default=True, help="Seconds the deployment has to become healthy.")  # fmt: skip
@click.pass_obj
def deploy_cmd(
    runtime: Runtime,
    target: Path,
    strategy: str,
    name: str | None,
    action: str | None,
    app: str | None,
    module: str | None,
    callable_: str | None,
    env: tuple[str, ...],
    settings: tuple[str, ...],
    timeout: float | None,
    ready_timeout: float,
) -> None:
    """Deploy the code folder TARGET with a strategy, print its endpoint, and serve it
    until Ctrl-C (or `hoist deployments stop NAME`)."""
    given: dict[str, Any] = {"action": action, "app": app, "module": module,
                             "callable": callable_, "timeout": timeout}  # fmt: skip
    config = DeployConfig(**{k: v for k, v in given.items() if v is not None})
    if env:
        config.env_vars = env_pairs(env)
    if settings:
        config.settings = setting_pairs(settings)
    manager = manager_of(runtime, ready_timeout)
    record = with_progress(manager, lambda: manager.deploy(target, strategy, name, config))
    serve_until_stopped(manager, record)


def with_progress(
    manager: DeploymentManager, work: Callable[[], DeploymentRecord]
) -> DeploymentRecord:
    """Run a deploy (or rollback) showing its steps live; print what is serving."""
    from hoist.runs.sinks.console import ConsoleSink

    console = ConsoleSink()
    manager.also_report_to(console)  # the store, and for this command the screen
    with console:
        record = work()
    where = record.endpoint or "in this process (no endpoint)"
    click.secho(f"deployment {record.name} v{record.version} ({record.strategy}) is running",
                fg="green")  # fmt: skip
    click.echo(f"endpoint: {where}")
    click.echo(f"run: {record.run_id}")
    return record


def serve_until_stopped(manager: DeploymentManager, record: DeploymentRecord) -> None:
    """Block until Ctrl-C or SIGTERM, then stop the deployment (record ``stopped``)."""
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    click.echo("serving; Ctrl-C stops it", err=True)
    try:
        while not stopped.wait(1.0):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        manager.close()  # stops what this process runs; their records become stopped
        click.echo(f"deployment {record.name} v{record.version} stopped", err=True)
