"""CLI start-up (issue 19 part 5): ``hoist runs list`` and ``hoist runs show`` import
only what they use. Guarded by the modules a real ``hoist`` process imports (``python -X
importtime``), not by timing: what a read command must never load, and what the table of
``runs list`` does without (pydantic: the store's rows become runs by hand)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hoist.runs.models import OutputEvent, ResultEvent, Run, RunStatus, StatusEvent, StepEvent
from hoist.runs.store import RunStore

# Nothing a local read command uses: the server, the executors and plugins, Ray, the
# HTTP client, YAML, migrations and SQLAlchemy (a current store is read through
# its driver: hoist.runs.store.sql_reader).
NEVER = (
    "alembic",
    "anyio",
    "fastapi",
    "httpx",
    "jinja2",
    "ray",
    "starlette",
    "uvicorn",
    "yaml",
    "hoist.client",
    "hoist.deployment",
    "hoist.executors",
    "hoist.plugins",
    "hoist.server",
    "hoist.services",
    "hoist.runs.sinks",
    "sqlalchemy",
)
# What dumps runs to JSON (stored events decode by hand): not needed to print a table.
NOT_FOR_THE_TABLE = ("pydantic", "pydantic_core")


def _matches(module: str, names: tuple[str, ...]) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in names)


@pytest.fixture
def run_id(hoist_home: Path) -> str:
    """A succeeded run with a result, an output and a step in the test's store."""
    store = RunStore(f"sqlite:///{hoist_home / 'hoist.db'}")
    try:
        run = Run(id="0123456789abcdef01234567", plugin="demo", action="work")
        events = [
            StatusEvent(run_id=run.id, seq=1, ts=1.0, status=RunStatus.RUNNING),
            StepEvent(run_id=run.id, seq=2, ts=2.0, step="fetch", phase="finished"),
            OutputEvent(run_id=run.id, seq=3, ts=3.0, body="hello"),
            ResultEvent(run_id=run.id, seq=4, ts=4.0, value={"n": 3}),
            StatusEvent(run_id=run.id, seq=5, ts=5.0, status=RunStatus.SUCCEEDED),
        ]
        store.write_batch([run], events)
    finally:
        store.close()
    return run.id


# The ``hoist`` script's entry point, which lists every module loaded when it exits.
_PROBE = (
    "import atexit, sys\n"
    "loaded = lambda: [name for name, module in sys.modules.items() if module is not None]\n"
    "atexit.register(lambda: sys.stderr.write('\\n'.join(['MODULES:', *loaded()])))\n"
    "from hoist.cli.main import main\n"
    "main()\n"
)


def _imports(hoist_home: Path, *args: str, code: int = 0) -> tuple[str, set[str]]:
    """The output of ``hoist ARGS`` run as a process (ending with ``code``), and every
    module it imported."""
    env = {**os.environ, "HOIST_HOME": str(hoist_home), "COLUMNS": "200"}
    env.pop("HOIST_SERVER_URL", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == code, proc.stderr[-2000:]
    modules = set(proc.stderr.split("MODULES:\n", 1)[1].splitlines())
    assert "hoist.cli.runs" in modules  # the probe sees the command's own imports
    return proc.stdout, modules


def test_runs_list_imports_neither_pydantic_nor_what_no_read_needs(
    hoist_home: Path, run_id: str
) -> None:
    out, modules = _imports(hoist_home, "runs", "list")
    assert run_id[-8:] in out and "succeeded" in out
    assert sorted(m for m in modules if _matches(m, NEVER + NOT_FOR_THE_TABLE)) == []


def test_runs_list_json_still_dumps_through_pydantic(hoist_home: Path, run_id: str) -> None:
    out, modules = _imports(hoist_home, "runs", "list", "--json")
    assert f'"id": "{run_id}"' in out and '"status": "succeeded"' in out
    assert "pydantic" in modules
    assert not any(m == "rich" or m.startswith("rich.") for m in modules)  # no table
    assert sorted(m for m in modules if _matches(m, NEVER)) == []


def test_runs_show_imports_nothing_a_read_does_not_need(hoist_home: Path, run_id: str) -> None:
    out, modules = _imports(hoist_home, "runs", "show", run_id)
    assert f"run {run_id}" in out and "fetch finished" in out and "hello" in out
    assert sorted(m for m in modules if _matches(m, NEVER + NOT_FOR_THE_TABLE)) == []


def test_a_remote_command_skips_httpx_s_own_command_line(hoist_home: Path) -> None:
    # Not logged in: the command stops before any request, after importing its client.
    _, modules = _imports(hoist_home, "runs", "--server", "http://127.0.0.1:9", "list", code=2)
    assert "httpx" in modules and "hoist.client" in modules
    assert not any(_matches(m, ("pygments", "rich.syntax", "rich.progress")) for m in modules)


def test_runs_logs_reads_the_store_without_sqlalchemy(hoist_home: Path, run_id: str) -> None:
    out, modules = _imports(hoist_home, "runs", "logs", run_id[-8:])
    assert "fetch finished" in out and "hello" in out
    assert sorted(m for m in modules if _matches(m, NEVER)) == []
