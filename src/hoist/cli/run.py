"""``hoist run PLUGIN ACTION``: run one action with live progress."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import click

from hoist.cli.follow import StoreFollower, end_live
from hoist.cli.main import report_error
from hoist.cli.params import output_options, params_options, parse_params
from hoist.cli.remote import server_option
from hoist.errors import ActionFailedError, RunCancelledError, StoreError, StoreUnwritableError
from hoist.runs.runtime import Runtime

__all__ = ["run_cmd"]


@click.command("run")
@server_option
@click.argument("plugin")
@click.argument("action")
@params_options
@click.option(
    "--mode",
    default=None,
    help="Where to run it: local (this process), task (a warm Ray actor) or job (an "
    "isolated Ray Job with the plugin's requirements). Every mode shows the same live "
    "progress. Default: the action's method in config.yaml, else local.",
)
@click.option(
    "--ray-address",
    help="Ray cluster for --mode task (default: a private local Ray). Env: HOIST_RAY_ADDRESS.",
)
@output_options
@click.pass_obj
def run_cmd(
    runtime: Runtime,
    plugin: str,
    action: str,
    pairs: tuple[str, ...],
    raw: str | None,
    mode: str | None,
    ray_address: str | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Run ACTION of PLUGIN (a plugin folder or an importable module).

    An action is a BaseAction subclass (its `execute(self)`) or a function decorated with
    `@action`, called as `fn(params, context)`: the params model, then the run's
    RuntimeContext. --mode job runs it as an isolated Ray Job that installs the plugin's
    requirements; --mode task in a warm Ray actor; both show the same live display as a
    local run.

    With --server, PLUGIN is the code of a plugin on the server: the run starts there and
    is followed live; Ctrl-C asks the server to cancel it (exit 130).

    Exit code 0 when the action succeeded, 1 when it failed, 2 for bad input. When the
    run store stops accepting writes (read-only, no permission, full) the run is stopped
    at its next cancellation point and the command exits 1 at once, saying so once;
    what was written before stays in the store.
    """
    if runtime.settings.server_url:
        from hoist.cli.remote_run import launch_remote

        params = parse_params(pairs, raw)
        return launch_remote(runtime.settings, plugin, action=action, mode=mode,
                             params=params, as_json=as_json, quiet=quiet)  # fmt: skip
    from hoist.executors.modes import executor_class, resolve_mode
    from hoist.plugins.discovery import load_plugin
    from hoist.runs.sinks.console import ConsoleSink
    from hoist.runs.sinks.fanout import FanoutSink
    from hoist.runs.sinks.writer import BatchWriter

    params = parse_params(pairs, raw)
    definition = load_plugin(plugin)
    if isinstance(runtime.sink, BatchWriter):
        runtime.sink.fail_fast = True  # fail fast: no work for a lost record
    mode = resolve_mode(mode, definition, action)
    console = None if (as_json or quiet) else ConsoleSink()
    # Local runs emit here; Ray workers (task, job) write straight into the store, whose
    # events a follower hands to the same display.
    local = mode == "local"
    sink = runtime.sink if console is None or not local else FanoutSink([runtime.sink, console])
    options: dict[str, Any] = {"sink": sink, "runtime": runtime}
    if not local:
        options["address"] = ray_address
    executor = executor_class(mode)(**options)
    prepared = executor.prepare_plugin(definition, action, params)
    follower = None
    if console is not None and not local:
        console.open_run(prepared.run)
        follower = StoreFollower(runtime.store, prepared.run.id, console)
    outcome: Any = None
    failed: BaseException | None = None
    try:
        if console is not None:
            with console:
                if follower is not None:
                    follower.start()
                try:
                    outcome = executor.execute_prepared(prepared)
                finally:
                    if follower is not None:
                        _flush(runtime, prepared.run.id)
                        follower.finish()
            end_live(console.console)
        else:
            outcome = executor.execute_prepared(prepared)
    except (ActionFailedError, RunCancelledError) as exc:
        failed = exc
    finally:
        try:
            _flush(runtime, prepared.run.id)
        finally:
            executor.shutdown()
    run = _settled(runtime, prepared.run.id)
    if as_json:
        click.echo(json.dumps(run.to_dict(), indent=2))
    elif failed is not None:
        if isinstance(failed, ActionFailedError) and failed.traceback and console is None:
            click.echo(failed.traceback, err=True)
        report_error(failed)  # type: ignore[arg-type]
    else:
        from hoist.plugins.invoke import jsonable

        if not quiet:
            click.secho(f"run {run.id} succeeded in {run.duration or 0:.2f}s", fg="green")
        click.echo(json.dumps(jsonable(outcome), indent=2))
    return 0 if failed is None else 1


def _flush(runtime: Runtime, run_id: str) -> None:
    """Write what the run emitted; a store that refuses writes ends the command at once.

    Raises:
        StoreError: the store refused writes (said once: the sink is closed here).
    """
    try:
        runtime.sink.flush()
    except StoreUnwritableError as exc:
        with contextlib.suppress(StoreError):
            runtime.sink.close()  # gives up at once; closing again (at exit) is silent
        raise StoreError(
            f"run {run_id} stopped: {exc.target} is not writable ({exc.reason}); what "
            f"was written before is kept, its last {exc.unwritten} events are not"
        ) from exc


def _settled(runtime: Runtime, run_id: str, timeout: float = 10.0) -> Any:
    """The run's record once its worker (maybe another process) has written its end."""
    import time

    from hoist.errors import RunNotFoundError

    deadline = time.monotonic() + timeout
    while True:
        try:
            run = runtime.store.get_run(run_id)
        except RunNotFoundError:
            run = None
        if (run is not None and run.status.is_terminal) or time.monotonic() > deadline:
            if run is None:
                raise RunNotFoundError(run_id)
            return run
        time.sleep(0.01)
