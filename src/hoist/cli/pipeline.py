"""``hoist pipeline run|resume|list``: run a plugin's pipelines with live progress."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import click

from hoist.cli.main import report_error
from hoist.cli.params import output_options, params_options, parse_params
from hoist.cli.remote import server_option
from hoist.errors import ActionFailedError, RunCancelledError
from hoist.runs.runtime import Runtime

__all__ = ["pipeline"]


@click.group("pipeline")
@server_option
def pipeline() -> None:
    """Run, resume and list pipelines declared in a plugin's config.yaml."""


@pipeline.command("list")
@click.argument("plugin")
def list_cmd(plugin: str) -> None:
    """List the pipelines of PLUGIN."""
    from hoist.plugins.discovery import load_plugin

    definition = load_plugin(plugin)
    declared = definition.config.pipelines or {}
    if not declared:
        click.echo(f"plugin {definition.code} declares no pipelines")
    for name, spec in declared.items():
        shape = spec.get("actions") or list((spec.get("nodes") or {}).keys())
        click.echo(f"{name}: {spec.get('description', '')}  [{', '.join(map(str, shape))}]")


@pipeline.command("run")
@server_option
@click.argument("plugin")
@click.argument("name")
@params_options
@output_options
@click.pass_obj
def run_cmd(
    runtime: Runtime,
    plugin: str,
    name: str,
    pairs: tuple[str, ...],
    raw: str | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Run pipeline NAME of PLUGIN with live progress (exit 0 ok, 1 failed, 2 bad input).

    With --server, PLUGIN is the code of a plugin on the server, which runs the pipeline.
    """
    if runtime.settings.server_url:
        from hoist.cli.remote_run import launch_remote

        params = parse_params(pairs, raw)
        return launch_remote(runtime.settings, plugin, pipeline=name, params=params,
                             as_json=as_json, quiet=quiet)  # fmt: skip
    from hoist.pipelines.config import pipeline_from_config
    from hoist.plugins.discovery import load_plugin

    params = parse_params(pairs, raw)
    built = pipeline_from_config(load_plugin(plugin), name)
    return _run(runtime, built, params, None, as_json, quiet, False, False)


@pipeline.command("resume")
@server_option
@click.argument("run_id")
@params_options
@click.option(
    "--allow-param-changes", is_flag=True, help="Resume with params that differ from the run's."
)
@click.option("--force", is_flag=True, help="Resume even if the run still looks alive.")
@output_options
@click.pass_obj
def resume_cmd(
    runtime: Runtime,
    run_id: str,
    pairs: tuple[str, ...],
    raw: str | None,
    allow_param_changes: bool,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Resume pipeline run RUN_ID: skip what finished, run the rest (on the server with
    --server)."""
    if runtime.settings.server_url:
        from hoist.cli.remote_run import resume_remote

        return resume_remote(
            runtime.settings, run_id, parse_params(pairs, raw) if (pairs or raw) else None,
            allow_param_changes=allow_param_changes, force=force, as_json=as_json, quiet=quiet,
        )  # fmt: skip
    from hoist.cli.ids import resolve_run
    from hoist.pipelines.rebuild import pipeline_from_run
    from hoist.plugins.discovery import load_plugin

    run = resolve_run(runtime.store, run_id)
    if run.status == "succeeded":
        click.echo(f"run {run.id} already succeeded; nothing to resume")
        return 0
    built = pipeline_from_run(run, lambda path, action: load_plugin(path).load_action(action))
    params = parse_params(pairs, raw) if (pairs or raw) else None
    if params is not None and not allow_param_changes:
        params = {**run.params, **params}
    return _run(runtime, built, params, run.id, as_json, quiet, allow_param_changes, force)


def _run(
    runtime: Runtime,
    built: Any,
    params: dict[str, Any] | None,
    resume_from: str | None,
    as_json: bool,
    quiet: bool,
    allow_param_changes: bool,
    force: bool,
) -> int:
    from rich.console import Console

    from hoist.cli.follow import end_live
    from hoist.executors.local import LocalExecutor
    from hoist.pipelines.display import display_progress
    from hoist.pipelines.launch import start_pipeline
    from hoist.pipelines.progress import stream_progress
    from hoist.plugins.invoke import jsonable

    executor = LocalExecutor(runtime=runtime)
    handle = start_pipeline(
        built, params, executor=executor, resume_from=resume_from,
        allow_param_changes=allow_param_changes, force=force, background=True,
    )  # fmt: skip
    failed: BaseException | None = None
    try:
        if not (as_json or quiet):
            console = Console()
            display_progress(
                stream_progress(runtime.store, handle.run_id, flush=runtime.sink.flush), console
            )
            end_live(console)
        outcome = handle.result()
    except KeyboardInterrupt:
        handle.cancel()
        with contextlib.suppress(Exception):
            handle.result(timeout=30)
        raise
    except (ActionFailedError, RunCancelledError) as exc:
        failed = exc
    runtime.sink.flush()
    run = runtime.store.get_run(handle.run_id)
    if as_json:
        click.echo(json.dumps(run.to_dict(), indent=2))
    elif failed is not None:
        report_error(failed)  # type: ignore[arg-type]
    else:
        if not quiet:
            click.secho(f"pipeline run {run.id} succeeded in {run.duration or 0:.2f}s", fg="green")
        click.echo(json.dumps(jsonable(outcome), indent=2))
    return 0 if failed is None else 1
