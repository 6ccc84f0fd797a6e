"""``hoist runs list|show|logs|events|cancel``: inspect past and live runs (in the local
store, or on the server given by ``--server``).

Start-up time matters here (issue 19): rich and the renderers are imported by the commands
that print with them, so ``--json`` output never loads them.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from hoist.cli.ids import resolve_run
from hoist.cli.remote import server_option
from hoist.runs.models import RunKind, RunStatus
from hoist.runs.reader import RunFilter, RunLog, follow_events
from hoist.runs.runtime import Runtime

if TYPE_CHECKING:
    from rich.console import Console

    from hoist.runs.models import Event

__all__ = ["runs"]

_LOG_TYPES = frozenset({"log", "message", "step", "error", "status", "custom", "output"})


_JSON_HELP = "Print JSON (full ids, every field) instead of the table."


@click.group("runs")
@server_option
def runs() -> None:
    """Inspect runs: their status, params, results and every event.

    RUN_ID is a full id, a unique prefix of it (6+ characters), or the short form the
    tables show (its last 8 characters).
    """


@runs.command("list")
@server_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in RunStatus]),
    help="Only runs with this status (repeatable: any of them).",
)
@click.option(
    "--kind", type=click.Choice([k.value for k in RunKind]), help="Only runs of this kind."
)
@click.option("--plugin", help="Only runs of this plugin (code) or service.")
@click.option("--action", help="Only runs of this action (or service endpoint).")
@click.option("--since", type=float, help="Created in the last SINCE hours.")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=20,
    show_default=True,
    help="At most this many runs (the newest).",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.pass_obj
def list_cmd(
    runtime: Runtime,
    statuses: tuple[str, ...],
    kind: str | None,
    plugin: str | None,
    action: str | None,
    since: float | None,
    limit: int,
    as_json: bool,
) -> None:
    """List runs, newest first (a narrow terminal shows fewer columns; ids are never
    cut: the RUN column is each id's short form)."""
    flt = RunFilter(
        status=[RunStatus(s) for s in statuses] or None,
        kind=kind,
        plugin=plugin,
        action=action,
        since=None if since is None else time.time() - since * 3600,
        limit=limit,
    )
    with _log(runtime) as log:
        found = log.list_runs(flt)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in found], indent=2))
    elif not found:
        click.echo("no runs")
    else:
        from hoist.cli.render import runs_table

        console = _console()
        console.print(runs_table(found, width=console.width))


@runs.command("show")
@server_option
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the run and its children as JSON.")
@click.pass_obj
def show_cmd(runtime: Runtime, run_id: str, as_json: bool) -> None:
    """Show a run: status, params, result or error, child runs, event counts, and a
    service run's endpoint and newest outputs."""
    with _log(runtime) as store:
        run = resolve_run(store, run_id)
        children = store.list_runs(RunFilter(parent_id=run.id, limit=10_000))
        if as_json:
            data = run.to_dict()
            data["children"] = [c.to_dict() for c in children]
            click.echo(json.dumps(data, indent=2))
            return
        from hoist.cli.render import add_outputs, add_pipeline_nodes, add_steps, run_detail
        from hoist.cli.run_summary import summarise

        log = summarise(store, run.id)  # indexed reads, never the whole log in memory
        tree = run_detail(run, children, log.counts, log.result_model)
        add_outputs(tree, log.outputs, total=log.output_total)
        if run.kind == "pipeline" and run.meta.get("nodes"):
            from hoist.pipelines.progress import pipeline_progress

            add_pipeline_nodes(tree, pipeline_progress(store, run.id))
        else:
            add_steps(tree, log.steps, older=log.older_steps)
    _console().print(tree)


@runs.command("logs")
@server_option
@click.argument("run_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the run ends.")
@click.pass_obj
def logs_cmd(runtime: Runtime, run_id: str, follow: bool) -> None:
    """Print a run's log lines, messages, outputs, steps and errors."""
    from hoist.cli.render import event_line

    console = _console(highlight=False)
    for event in _events(runtime, run_id, 0, follow):
        if event.type in _LOG_TYPES:
            console.print(event_line(event))
            if event.type == "error" and event.traceback:
                console.print(event.traceback, style="dim", markup=False)


@runs.command("events")
@server_option
@click.argument("run_id")
@click.option("--after", type=int, default=0, help="Only events with seq > AFTER.")
@click.option("--type", "types", multiple=True, help="Only events of these types.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the run ends.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def events_cmd(
    runtime: Runtime, run_id: str, after: int, types: tuple[str, ...], follow: bool, as_json: bool
) -> None:
    """Print every event of a run."""
    from hoist.cli.render import event_line

    console = _console(highlight=False)
    for event in _events(runtime, run_id, after, follow):
        if types and event.type not in types:
            continue
        if as_json:
            click.echo(json.dumps(event.to_dict()))
        else:
            console.print(event_line(event))


@runs.command("cancel")
@server_option
@click.argument("run_id")
@click.pass_obj
def cancel_cmd(runtime: Runtime, run_id: str) -> None:
    """Ask a running run to stop at its next cancellation point."""
    with _log(runtime, writes=True) as store:
        run = resolve_run(store, run_id)
        if run.status.is_terminal:
            click.echo(f"run {run.id} already ended ({run.status})")
            return
        store.request_cancel(run.id)
    click.echo(f"cancellation requested for run {run.id}")


def _console(*, highlight: bool = True) -> Console:
    from rich.console import Console

    return Console(highlight=highlight)


@contextlib.contextmanager
def _log(runtime: Runtime, *, writes: bool = False) -> Iterator[RunLog]:
    """The run log: the server's (``--server``) or the store. A store that needs nothing
    written first is read through its driver, without SQLAlchemy (start-up, issue 19:
    :mod:`hoist.runs.store.sql_reader`); otherwise the store opens (migrating it) and
    reaps runs whose worker died, so they show as lost, not running."""
    if runtime.settings.server_url:
        from hoist.cli.remote import remote_log

        with remote_log(runtime.settings) as remote:
            yield remote
        return
    if not writes:
        from hoist.runs.store.sql_reader import open_run_reader

        reader = open_run_reader(runtime.settings.store_url, runtime.settings.stale_after)
        if reader is not None:
            try:
                yield reader  # type: ignore[misc]
            finally:
                reader.close()
            return
    runtime.store.reap_stale(runtime.settings.stale_after)
    yield runtime.store


def _events(runtime: Runtime, run_id: str, after: int, follow: bool) -> Iterator[Event]:
    """The run's events from ``after`` on (until it ends, when following), read from the
    log :func:`_log` opens (kept open while they are read)."""
    if runtime.settings.server_url:
        with _log(runtime) as log:
            run_id = resolve_run(log, run_id).id
        from hoist.cli.remote import remote_events

        yield from remote_events(runtime.settings, run_id, after, follow)
        return
    with _log(runtime) as log:
        yield from follow_events(log, resolve_run(log, run_id).id, after, follow=follow)
