"""What tripped a newcomer in the CLI (issue 18): short run ids, narrow terminals, piped
output, ``hoist new``'s hint, ``tokens list|revoke``, duplicate plugin codes and the
help text of the common options."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest

from hoist.cli.main import cli
from hoist.executors.local import LocalExecutor
from hoist.plugins.discovery import discover_plugins
from hoist.runs.models import Run
from hoist.runs.runtime import Runtime
from hoist.runs.short_ids import short_id
from tests.conftest import EXAMPLES, HOIST


def _runs(runtime: Runtime, count: int) -> list[str]:
    """``count`` runs of text_stats' word_count, created back to back in this process."""
    executor = LocalExecutor(runtime=runtime, working_dir=EXAMPLES / "text_stats")
    ids = []
    for i in range(count):
        handle = executor.submit("word_count", {"text": f"a b {i}"})
        handle.wait()
        ids.append(str(handle))
    runtime.sink.flush()
    return ids


def test_close_runs_get_distinct_short_ids_that_resolve(runtime: Runtime, hoist: Any) -> None:
    ids = _runs(runtime, 3)
    assert len({i[:8] for i in ids}) == 1  # the old display: one prefix for all three
    shorts = [short_id(i) for i in ids]
    assert len(set(shorts)) == 3 and all(len(s) == 8 for s in shorts)
    for run_id, short in zip(ids, shorts, strict=True):
        shown = hoist("runs", "show", short, "--json")
        assert shown.code == 0, shown.err
        assert shown.json()["id"] == run_id
        assert hoist("runs", "show", short.upper(), "--json").json()["id"] == run_id
        assert hoist("runs", "show", run_id[:14], "--json").json()["id"] == run_id  # a prefix
    logs = hoist("runs", "events", shorts[0], "--json")
    assert logs.code == 0 and logs.out.count("\n") >= 2
    assert hoist("runs", "show", "ffffffff").code == 2


def test_an_ambiguous_short_id_names_its_runs(runtime: Runtime, hoist: Any) -> None:
    twins = ["0190aa00000001aa1234abcd", "0190bb00000002bb1234abcd"]
    runtime.store.write_batch([Run(id=twins[0]), Run(id=twins[1])], [])
    shown = hoist("runs", "show", "1234abcd")
    assert shown.code == 2
    assert "1234abcd names 2+ runs" in shown.err and all(t in shown.err for t in twins)


def test_short_id_of_other_ids_is_the_id() -> None:
    assert short_id("run-1") == "run-1"
    assert short_id(None) == ""
    assert short_id("01a23650dd72eda54c10b0d4") == "4c10b0d4"


def test_runs_list_at_80_columns_keeps_ids_whole(runtime: Runtime, hoist_home: Path) -> None:
    ids = _runs(runtime, 3)
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "COLUMNS": "80"}
    proc = subprocess.run([*HOIST, "runs", "list"], capture_output=True, text=True, env=env,
                          timeout=60, check=True)  # fmt: skip
    lines = proc.stdout.splitlines()
    assert "MODE" not in proc.stdout and "DURATION" not in proc.stdout
    assert all(len(line) <= 80 for line in lines)
    assert "…" not in proc.stdout
    for run_id in ids:
        assert any(line.split()[:1] == [short_id(run_id)] for line in lines), proc.stdout
    env["COLUMNS"] = "160"
    wide = subprocess.run([*HOIST, "runs", "list"], capture_output=True, text=True, env=env,
                          timeout=60, check=True)  # fmt: skip
    assert "MODE" in wide.stdout and "DURATION" in wide.stdout


def test_piped_output_ends_the_progress_before_the_outcome(hoist_proc: Any) -> None:
    result = hoist_proc("run", str(EXAMPLES / "sim_train"), "train", "-p", "epochs=2")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    (outcome,) = [line for line in lines if "succeeded in" in line]
    assert re.fullmatch(r"run [0-9a-f]{24} succeeded in [0-9.]+s", outcome), lines
    flow = hoist_proc("pipeline", "run", str(EXAMPLES / "sim_train"), "train_flow",
                      "-p", "epochs=2", "-p", "sleep_per_epoch=0")  # fmt: skip
    assert flow.code == 0, flow.err
    (outcome,) = [line for line in flow.out.splitlines() if "succeeded in" in line]
    assert outcome.startswith("pipeline run "), flow.out


def test_new_names_the_real_actions(hoist: Any, tmp_path: Path) -> None:
    made = hoist("new", "my_net", "--category", "neural_net", "--dir", str(tmp_path))
    assert made.code == 0, made.err
    root = tmp_path / "my_net"
    assert f"hoist run {root} train" in made.out
    assert f"hoist run {root} inference" in made.out
    assert "<action>" not in made.out


def test_tokens_list_and_revoke(hoist: Any) -> None:
    assert hoist("users", "create", "ada", "--role", "operator").code == 0
    secret = hoist("tokens", "create", "ada", "--name", "laptop").out.strip()
    assert secret
    listed = hoist("tokens", "list", "--json").json()
    (token,) = [t for t in listed if t["name"] == "laptop"]
    assert token["user"] == "ada" and token["state"] == "active"
    assert secret not in hoist("tokens", "list").out  # the secret is never shown again
    table = hoist("tokens", "list", "ada")
    assert token["id"] in table.out and "laptop" in table.out
    revoked = hoist("tokens", "revoke", token["id"])
    assert revoked.code == 0 and "revoked" in revoked.out
    assert [t for t in hoist("tokens", "list", "--json").json() if t["name"] == "laptop"] == []
    everything = hoist("tokens", "list", "--all", "--json").json()
    assert [t["state"] for t in everything if t["id"] == token["id"]] == ["revoked"]
    assert hoist("tokens", "revoke", "no-such-token").code == 2


def test_duplicate_plugin_codes_warn_naming_both(
    hoist: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for side in ("a", "b"):
        assert hoist("new", "twin", "--dir", str(tmp_path / side)).code == 0
    with caplog.at_level(logging.WARNING, logger="hoist.plugins"):
        found = discover_plugins(tmp_path, entry_points=False)
    assert [p.code for p in found] == ["twin", "twin"]
    (record,) = [r for r in caplog.records if "twin" in r.getMessage()]
    message = record.getMessage()
    assert str(tmp_path / "a" / "twin") in message and str(tmp_path / "b" / "twin") in message


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in _commands(command, ctx)]
    return found


def test_every_json_status_and_limit_option_has_help() -> None:
    ctx = click.Context(cli)
    missing = [
        f"hoist {name} {opt}"
        for name, command in _commands(cli, ctx)
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt in ("--json", "--status", "--limit") and not param.help
    ]
    assert missing == []


def test_help_documents_modes_action_signature_and_csrf(hoist: Any) -> None:
    run_help = " ".join(hoist("run", "--help").out.split())
    assert "--mode job" in run_help and "fn(params, context)" in run_help
    assert "--server" in run_help
    login_help = " ".join(hoist("login", "--help").out.split())
    assert "X-CSRF-Token" in login_help and "login name" in login_help


def test_the_panel_shows_short_ids() -> None:
    from hoist.server.panel.templating import TEMPLATES_DIR, environment

    rendered = environment().from_string("{{ i|short_id }}").render(i="01a23650dd72eda54c10b0d4")
    assert rendered == "4c10b0d4"
    for name in ("runs.html", "run.html", "parts/progress.html", "deployment.html"):
        text = (TEMPLATES_DIR / name).read_text()
        template = name
        assert "short_id" in text, template
        assert not re.search(r"id\[:\d+\]|id\|truncate", text), template  # shortened by hand
