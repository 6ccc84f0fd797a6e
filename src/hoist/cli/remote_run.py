"""``hoist --server URL run|pipeline run|pipeline resume``: start a run on the server and
follow its live stream, with the same display and exit codes as a local run.

Exit codes: 0 the run succeeded; 1 it failed, was cancelled or lost; 2 bad input (422
field errors are printed one per line, unknown plugin or action, no token); 130 on
Ctrl-C, after asking the server to cancel the run (the command does not wait for the
run to stop: ``hoist runs show RUN`` tells how it ended).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from hoist.cli.follow import end_live
from hoist.cli.remote import RemoteLog, connect
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.settings import Settings

if TYPE_CHECKING:
    from hoist.client import HoistClient

__all__ = ["follow_run", "launch_remote", "resume_remote"]

_PIPELINE_POLL = 0.25  # seconds between progress reads of a remote pipeline (HTTP)


def launch_remote(
    settings: Settings,
    plugin: str,
    *,
    action: str | None = None,
    pipeline: str | None = None,
    params: Mapping[str, Any],
    mode: str | None = None,
    as_json: bool = False,
    quiet: bool = False,
) -> int:
    """Launch ``action`` (or ``pipeline``) of the server's ``plugin`` and follow it.

    Returns:
        The exit code: 0 succeeded, 1 failed (or cancelled, lost).

    Raises:
        ParamsValidationError: the server refused the params (422), naming each field.
        NotFoundError: no such plugin, action or pipeline on the server.
    """
    with connect(settings) as client:
        # The server may start the run before its answer arrives: a Ctrl-C in between
        # must still cancel it, so it waits until the run id is known.
        with _deferred_interrupt() as interrupted:
            run_id = client.launch(plugin, action, pipeline=pipeline, params=params, mode=mode)
        if interrupted:
            _cancel(client, run_id)
            raise KeyboardInterrupt
        return follow_run(client, run_id, as_json=as_json, quiet=quiet)


@contextlib.contextmanager
def _deferred_interrupt() -> Iterator[list[int]]:
    """Hold back SIGINT for the block (main thread only); yields the signals held."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)


def resume_remote(
    settings: Settings,
    run_id: str,
    params: Mapping[str, Any] | None,
    *,
    allow_param_changes: bool,
    force: bool,
    as_json: bool = False,
    quiet: bool = False,
) -> int:
    """Ask the server to resume pipeline run ``run_id`` and follow the new run."""
    from hoist.cli.ids import resolve_run

    with connect(settings) as client:
        run = resolve_run(RemoteLog(client), run_id)  # an id, a prefix or a short form
        if run.status is RunStatus.SUCCEEDED:
            click.echo(f"run {run.id} already succeeded; nothing to resume")
            return 0
        new_id = client.resume(
            run.id, params=params, allow_param_changes=allow_param_changes, force=force
        )
        return follow_run(client, new_id, as_json=as_json, quiet=quiet)


def follow_run(client: HoistClient, run_id: str, *, as_json: bool, quiet: bool) -> int:
    """Show the run live until it ends (nothing with ``as_json``/``quiet``), then print
    its outcome; returns the exit code. Ctrl-C asks the server to cancel the run."""
    try:
        run = client.get_run(run_id)
        if as_json or quiet:
            for _ in client.stream_events(run.id):
                pass
        elif run.kind == RunKind.PIPELINE and run.meta.get("nodes"):
            from hoist.pipelines.display import display_progress
            from hoist.pipelines.progress import stream_progress

            console = Console()
            display_progress(stream_progress(RemoteLog(client), run.id, _PIPELINE_POLL), console)
            end_live(console)
        else:
            _show_events(client, run)
    except KeyboardInterrupt:
        _cancel(client, run_id)
        raise
    return _report(client.get_run(run_id), as_json, quiet)


def _show_events(client: HoistClient, run: Run) -> None:
    from hoist.runs.sinks.console import ConsoleSink

    console = ConsoleSink()
    console.open_run(run)
    with console:
        for event in client.stream_events(run.id):
            console.emit(event)
    end_live(console.console)


def _cancel(client: HoistClient, run_id: str) -> None:
    import httpx

    from hoist.client import APIError

    try:
        client.cancel(run_id)
    except (APIError, httpx.TransportError) as exc:  # it ended meanwhile, or no server
        click.echo(f"could not cancel run {run_id}: {exc}", err=True)
        return
    click.echo(f"cancellation requested for run {run_id}", err=True)


def _report(run: Run, as_json: bool, quiet: bool) -> int:
    if as_json:
        click.echo(json.dumps(run.to_dict(), indent=2))
    elif run.status is RunStatus.SUCCEEDED:
        if not quiet:
            click.secho(f"run {run.id} succeeded in {run.duration or 0:.2f}s", fg="green")
        click.echo(json.dumps(run.result, indent=2))
    else:
        error = run.error or {}
        if quiet and error.get("traceback"):
            click.echo(str(error["traceback"]), err=True)
        what = f"{error.get('type')}: {error.get('message')}" if error else str(run.status)
        click.secho(f"error: run {run.id} {run.status}: {what}", fg="red", err=True)
        for field, messages in (error.get("field_errors") or {}).items():
            for message in messages:
                click.echo(f"  {field}: {message}", err=True)
    return 0 if run.status is RunStatus.SUCCEEDED else 1
