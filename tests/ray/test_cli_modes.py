"""``hoist run --mode task|job`` in a real process, against the session's cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize("mode", ["task", "job"])
def test_cli_runs_on_the_cluster(
    mode: str, ray_cluster: Any, hoist_proc: Any, calc_plugin: Path
) -> None:
    result = hoist_proc("run", str(calc_plugin), "add", "-p", "a=4", "--mode", mode,
                        "--ray-address", ray_cluster.address, "--json")  # fmt: skip
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert run["status"] == "succeeded" and run["mode"] == mode
    assert run["result"]["total"] == 6


@pytest.mark.parametrize("mode", ["task", "job"])
def test_unreachable_address_exits_2_at_once(
    mode: str, ray_cluster: Any, hoist_proc: Any, calc_plugin: Path
) -> None:
    # A fresh process: this one is already connected to the test cluster. "At once":
    # it must not wait out Ray's own minute-long connect retries (the call's timeout).
    result = hoist_proc("run", str(calc_plugin), "add", "--mode", mode,
                        "--ray-address", "127.0.0.1:1", timeout=45)  # fmt: skip
    assert result.code == 2, result.err
    assert "no Ray cluster answers at 127.0.0.1:1" in result.err


def test_config_method_picks_the_mode(ray_cluster: Any, hoist_proc: Any, calc_plugin: Path) -> None:
    """``method: task`` in config.yaml runs the action on Ray when --mode is not given."""
    config = calc_plugin / "config.yaml"
    entry = "entrypoint: plugin.actions:AddAction"
    config.write_text(config.read_text().replace(entry, f"{entry}\n    method: task"))
    result = hoist_proc("run", str(calc_plugin), "add", "-p", "a=1",
                        "--ray-address", ray_cluster.address, "--json")  # fmt: skip
    assert result.code == 0, result.err
    run = json.loads(result.out)
    assert (run["status"], run["mode"]) == ("succeeded", "task")
    assert run["result"]["total"] == 3
