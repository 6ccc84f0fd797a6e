"""`hoist run PLUGIN ACTION`: params from flags, JSON and files; exit codes 0/1/2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

CONFIG = """\
name: Calc
code: calc
version: 0.1.0
category: custom
actions:
  add:
    entrypoint: plugin.actions:AddAction
    method: local
  fail:
    entrypoint: plugin.actions:FailAction
  deploy:
    entrypoint: plugin.actions:AddAction
    method: serve
"""

CODE = """
from pydantic import BaseModel, Field
from hoist import BaseAction


class AddParams(BaseModel):
    a: int
    b: int = Field(0, ge=0, le=1024)
    label: str = "sum"
    tags: list[str] = []


class AddResult(BaseModel):
    total: int
    label: str


class AddAction(BaseAction[AddParams]):
    result_model = AddResult

    def execute(self) -> AddResult:
        self.set_progress(1, 1)
        self.set_metrics({"total": self.params.a + self.params.b})
        self.log_message("added")
        return AddResult(total=self.params.a + self.params.b, label=self.params.label)


class FailAction(BaseAction[AddParams]):
    def execute(self):
        raise ZeroDivisionError("cannot divide by " + str(self.params.b))
"""


@pytest.fixture
def calc(tmp_path: Path) -> Path:
    root = tmp_path / "calc"
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "actions.py").write_text(textwrap.dedent(CODE))
    return root


def test_run_with_pairs_prints_result(hoist: Any, calc: Path) -> None:
    result = hoist("run", str(calc), "add", "-p", "a=2", "-p", "b=3", "-p", "label=007", "-q")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"total": 5, "label": "007"}


def test_run_json_params_and_file(hoist: Any, calc: Path, tmp_path: Path) -> None:
    as_json = hoist("run", str(calc), "add", "--params", '{"a": 1, "tags": ["x"]}', "--json")
    assert as_json.code == 0
    run = as_json.json()
    assert run["status"] == "succeeded" and run["result"]["total"] == 1
    assert run["params"]["tags"] == ["x"] and run["plugin"] == "calc"
    file = tmp_path / "p.json"
    file.write_text('{"a": 10, "b": 5}')
    from_file = hoist("run", str(calc), "add", "--params", f"@{file}", "-p", "b=6", "--json")
    assert from_file.json()["result"]["total"] == 16


def test_run_is_recorded_and_listed(hoist: Any, calc: Path) -> None:
    hoist("run", str(calc), "add", "-p", "a=1", "-q")
    listed = hoist("runs", "list", "--json").json()
    assert [(r["plugin"], r["action"], r["status"]) for r in listed] == [
        ("calc", "add", "succeeded")
    ]
    events = hoist("runs", "events", listed[0]["id"], "--json").out.splitlines()
    assert [json.loads(e)["type"] for e in events] == [
        "status", "progress", "metrics", "message", "result", "status",
    ]  # fmt: skip


def test_config_method_is_the_default_mode(hoist: Any, calc: Path) -> None:
    """``method:`` in config.yaml picks the mode when --mode is not given."""
    ran = hoist("run", str(calc), "add", "-p", "a=1", "--json").json()
    assert ran["mode"] == "local"
    # an explicit --mode wins over method: serve
    forced = hoist("run", str(calc), "deploy", "-p", "a=2", "--mode", "local", "--json").json()
    assert (forced["status"], forced["mode"]) == ("succeeded", "local")
    assert hoist("runs", "list", "--json").json()[0]["action"] == "deploy"


def test_invalid_params_exit_2_naming_fields(hoist: Any, calc: Path) -> None:
    result = hoist("run", str(calc), "add", "-p", "b=4096")
    assert result.code == 2
    assert "a: field required" in result.err
    assert "b: must be <= 1024" in result.err
    assert hoist("runs", "list", "--json").json() == []  # nothing ran


def test_failing_action_exits_1_with_traceback_stored(hoist: Any, calc: Path) -> None:
    result = hoist("run", str(calc), "fail", "-p", "a=1", "-q")
    assert result.code == 1
    assert "ZeroDivisionError: cannot divide by 0" in result.err
    (run,) = hoist("runs", "list", "--json").json()
    assert run["status"] == "failed"
    assert "Traceback" in run["error"]["traceback"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "{calc}", "ad"], "unknown action 'ad'"),
        (["run", "{calc}", "ad"], "did you mean 'add'"),
        (["run", "/no/such/plugin", "add"], "unknown plugin"),
        (["run", "{calc}", "add", "-p", "a=1", "--mode", "warp"], "unknown mode 'warp'"),
        (["run", "{calc}", "add", "--params", "{{oops"], "invalid JSON"),
        (["run", "{calc}", "deploy", "-p", "a=1"], "declared 'method: serve'"),
        (["run", "{calc}", "deploy", "-p", "a=1"], "give a mode: local, task or job"),
    ],
)
def test_bad_input_exits_2(hoist: Any, calc: Path, args: list[str], message: str) -> None:
    result = hoist(*[a.format(calc=calc) for a in args])
    assert result.code == 2, result.err
    assert message in result.err


def test_real_process_exit_codes_and_live_output(hoist_proc: Any, calc: Path) -> None:
    ok = hoist_proc("run", str(calc), "add", "-p", "a=4")
    assert ok.code == 0, ok.err
    assert "added" in ok.out and "succeeded" in ok.out
    assert hoist_proc("run", str(calc), "fail", "-p", "a=1").code == 1
    assert hoist_proc("run", str(calc), "add").code == 2
    assert hoist_proc("--version").out.strip().startswith("hoist, version")


def test_postgres_store_by_url(hoist: Any, calc: Path, postgres_url: str) -> None:
    result = hoist("--database-url", postgres_url, "run", str(calc), "add", "-p", "a=3", "--json")
    assert result.code == 0, result.err
    listed = hoist("--database-url", postgres_url, "runs", "list", "--json").json()
    assert [r["result"] for r in listed] == [{"total": 3, "label": "sum"}]
    assert hoist("runs", "list", "--json").json() == []  # the SQLite default is untouched
