"""Helpers to call the CLI in-process and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hoist.cli.main import run_cli

HOIST = [sys.executable, "-m", "hoist.cli"]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def hoist(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``hoist ARGS...`` in-process; returns exit code and captured output."""

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run_cli(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


@pytest.fixture
def hoist_proc(hoist_home: Path) -> Any:
    """Run ``hoist ARGS...`` as a real process (exit codes as a shell sees them)."""

    def call(*args: str, timeout: float = 120, cwd: Path | None = None) -> Result:
        env = {**os.environ, "HOIST_HOME": str(hoist_home), "COLUMNS": "200"}
        proc = subprocess.run(
            [*HOIST, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return call
