"""``hoist run --mode task|job`` shows the same live display as a local run: the
worker's logs, progress and final status, read from the store as the worker writes
them (issue 18), against the session's Ray head."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import EXAMPLES


def _display(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines()]


@pytest.mark.parametrize("mode", ["local", "task", "job"])
def test_every_mode_shows_the_live_display(mode: str, ray_cluster: Any, hoist_proc: Any) -> None:
    result = hoist_proc("run", str(EXAMPLES / "text_stats"), "analyze", "-p", "top_n=2",
                        "--mode", mode, "--ray-address", ray_cluster.address)  # fmt: skip
    assert result.code == 0, result.err
    lines = _display(result.out)
    assert "INFO read garden.txt (50 words)" in lines, result.out  # the worker's log
    assert any(line.startswith("analyze succeeded (run ") for line in lines), result.out
    assert any(line.startswith("analyze · files") for line in lines), result.out  # its bar
    (outcome,) = [line for line in lines if "succeeded in" in line]
    assert outcome.startswith("run "), result.out
    assert lines.index(outcome) > lines.index("INFO read garden.txt (50 words)")
