"""``hoist run --mode task|job`` in a real process, against the session's cluster."""

from __future__ import annotations

import json
import time
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
    # A fresh process: this one is already connected to the test cluster.
    start = time.monotonic()
    result = hoist_proc("run", str(calc_plugin), "add", "--mode", mode,
                        "--ray-address", "127.0.0.1:1")  # fmt: skip
    assert result.code == 2, result.err
    assert "no Ray cluster answers at 127.0.0.1:1" in result.err
    assert time.monotonic() - start < 30
