"""``hoist deployments list|show|logs|invoke|stop|rollback``: the named deployments of
the run store, called and read from this process whichever process runs them (through
their endpoint or log file); records whose process exited show as ``stopped``."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from hoist.cli.deploy import manager_of, serve_until_stopped, with_progress
from hoist.cli.params import params_options, parse_params
from hoist.cli.render import when
from hoist.deployment.manager import DeploymentManager
from hoist.deployment.records import DeploymentRecord
from hoist.errors import DeploymentError
from hoist.runs.runtime import Runtime

__all__ = ["deployments"]

_STATUS_STYLE = {"running": "green", "deploying": "cyan", "failed": "red",
                 "stopped": "dim", "replaced": "dim"}  # fmt: skip


@click.group("deployments")
def deployments() -> None:
    """Named deployments: their versions, status, health and endpoint."""


@deployments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.pass_obj
def list_cmd(runtime: Runtime, as_json: bool) -> None:
    """Each deployment's current version."""
    found = manager_of(runtime).list()
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in found], indent=2))
    elif not found:
        click.echo("no deployments")
    else:
        Console().print(_table(found, name_column=True))


@deployments.command("show")
@click.argument("name")
@click.option("--version", type=int, help="This version instead of the current one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")
@click.pass_obj
def show_cmd(runtime: Runtime, name: str, version: int | None, as_json: bool) -> None:
    """A deployment: its current (or given) version, and every version."""
    manager = manager_of(runtime)
    record = manager.show(name, version)
    versions = manager.versions(name)
    if as_json:
        data = record.model_dump(mode="json")
        data["versions"] = [v.model_dump(mode="json", exclude={"config"}) for v in versions]
        click.echo(json.dumps(data, indent=2))
        return
    console = Console(highlight=False)
    style = _STATUS_STYLE.get(record.status, "")
    console.print(f"[bold]{record.name}[/] v{record.version} [{style}]{record.status}[/] "
                  f"({record.strategy}, health {record.health})")  # fmt: skip
    details = {"endpoint": record.endpoint, "owner": record.owner, "run": record.run_id,
               "snapshot": record.snapshot, "created": when(record.created_at),
               "error": record.error}  # fmt: skip
    for label, value in details.items():
        if value:
            console.print(f"  {label}: {value}", markup=False)
    if record.config:
        console.print(f"  config: {json.dumps(record.config)}", markup=False)
    console.print(_table(versions, name_column=False))


@deployments.command("logs")
@click.argument("name")
@click.pass_obj
def logs_cmd(runtime: Runtime, name: str) -> None:
    """A deployment's output: its runner's, or the tail of its log file when another
    process runs (or ran) it."""
    click.echo(manager_of(runtime).logs(name), nl=False)


@deployments.command("invoke")
@click.argument("name")
@params_options
@click.pass_obj
def invoke_cmd(runtime: Runtime, name: str, pairs: tuple[str, ...], raw: str | None) -> int:
    """Call a deployment with inputs (``-p key=value``, ``--params JSON|@file``) and print
    its envelope; exit code 1 when it answers an error. A deployment another process
    serves is called at its endpoint."""
    inputs = parse_params(pairs, raw)
    envelope = manager_of(runtime).invoke(name, inputs)
    click.echo(json.dumps(envelope, indent=2, default=str))
    return 0 if envelope.get("status") == "success" else 1


@deployments.command("stop")
@click.argument("name")
@click.option("--timeout", type=float, default=30.0, show_default=True,
              help="Seconds to wait for another `hoist deploy` process to stop it.")  # fmt: skip
@click.pass_obj
def stop_cmd(runtime: Runtime, name: str, timeout: float) -> None:
    """Stop a deployment: one this process runs, or the `hoist deploy` on this machine that
    serves it (sent SIGTERM)."""
    manager = manager_of(runtime)
    record = manager.show(name)
    if record.status != "running":
        why = f" ({record.error})" if record.error else ""
        click.echo(f"deployment {name} v{record.version} is {record.status}{why}")
        return
    if record.owner != manager.owner:
        record = _stop_owner(manager, record, timeout)
    else:
        record = manager.stop(name)
    click.echo(f"deployment {name} v{record.version} {record.status}")


@deployments.command("rollback")
@click.argument("name")
@click.option("--to", "version", type=int, help="The version (default: the previous one).")
@click.pass_obj
def rollback_cmd(runtime: Runtime, name: str, version: int | None) -> None:
    """Start a previous version of NAME again from its snapshot and serve it until Ctrl-C."""
    manager = manager_of(runtime)
    record = with_progress(manager, lambda: manager.rollback(name, version))
    serve_until_stopped(manager, record)


def _stop_owner(
    manager: DeploymentManager, record: DeploymentRecord, timeout: float
) -> DeploymentRecord:
    """SIGTERM the `hoist deploy` process on this machine that runs ``record``; wait until
    its record says it stopped.

    Raises:
        DeploymentError: another machine (or a process that is not Hoist's) runs it, or
            it did not stop within ``timeout`` seconds.
    """
    host, _, pid_text = (record.owner or "").rpartition(":")
    label = f"deployment {record.name!r} v{record.version}"
    if host != socket.gethostname() or not pid_text.isdigit():
        raise DeploymentError(
            f"{label} runs in process {record.owner} on another machine; stop it there",
            strategy=record.strategy,
        )
    pid = int(pid_text)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and b"hoist" not in cmdline.read_bytes():
        raise DeploymentError(
            f"{label}: its process {pid} is gone (that pid is another program now)",
            strategy=record.strategy,
        )
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        raise DeploymentError(
            f"{label}: its process {pid} is gone; the record was not updated",
            strategy=record.strategy,
        ) from None
    deadline = time.monotonic() + timeout
    while True:
        current = manager.records.get(record.name, record.version)
        if current.status != "running":
            return current
        if time.monotonic() > deadline:
            raise DeploymentError(
                f"{label}: process {pid} did not stop within {timeout:g} s",
                strategy=record.strategy,
            )
        time.sleep(0.1)


def _table(records: list[DeploymentRecord], *, name_column: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    columns = ["NAME"] if name_column else []
    columns += ["VERSION", "STRATEGY", "STATUS", "HEALTH", "ENDPOINT", "OWNER", "UPDATED"]
    for column in columns:
        table.add_column(column, no_wrap=column in ("NAME", "STATUS"))
    for r in records:
        style = _STATUS_STYLE.get(r.status, "")
        row = [r.name] if name_column else []
        status = f"[{style}]{r.status}[/]" if style else r.status
        row += [f"v{r.version}", r.strategy, status, r.health, r.endpoint or "-",
                r.owner or "-", when(r.updated_at, short=True)]  # fmt: skip
        table.add_row(*row)
    return table
