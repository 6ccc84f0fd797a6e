"""The `local` strategy end to end: real worker subprocesses, real pipes, real crashes."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.deployment.strategies.local import LocalRunner
from hoist.errors import EntryPointError, UserInputError
from tests.waiting import wait_until

MAIN = """
import asyncio, os, sys, time

STATE = {"calls": 0}

def predict(inputs):
    STATE["calls"] += 1
    what = inputs.get("do")
    if what == "sleep":
        time.sleep(inputs["seconds"])
    elif what == "exit":
        os._exit(3)
    elif what == "segfault":
        import ctypes
        ctypes.string_at(0)
    elif what == "raise":
        raise ValueError("bad value: " + str(inputs.get("x")))
    elif what == "print":
        print("hello from predict", flush=True)
        print("warning on stderr", file=sys.stderr, flush=True)
    elif what == "unpicklable":
        return {"f": lambda: None}
    return {
        "pid": os.getpid(),
        "calls": STATE["calls"],
        "env": os.environ.get("HOIST_TEST_VAR"),
        "cwd": os.getcwd(),
        "echo": inputs.get("x"),
    }

async def apredict(inputs):
    await asyncio.sleep(0)
    return {"async": inputs["x"] * 2}
"""

PLUGIN_CONFIG = """
name: Counter
code: counter
version: 0.1.0
category: neural_net
description: counts
actions:
  count:
    entrypoint: plugin.actions:count
    method: local
    description: count to n
"""

PLUGIN_ACTIONS = """
from pydantic import BaseModel, Field

from hoist import RuntimeContext, action


class CountParams(BaseModel):
    n: int = Field(ge=0, le=100)
    label: str = "items"


class CountResult(BaseModel):
    total: int
    label: str


@action(name="count", description="count to n", params=CountParams, result=CountResult)
def count(params: CountParams, context: RuntimeContext) -> CountResult:
    context.log_message("counting " + params.label)
    return CountResult(total=sum(range(params.n + 1)), label=params.label)
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def runners() -> Iterator[Callable[..., LocalRunner]]:
    """Build runners that are stopped at the end of the test, whatever happens."""
    made: list[LocalRunner] = []

    def make(**kwargs: Any) -> LocalRunner:
        runner = LocalRunner(**kwargs)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.stop()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return write(tmp_path / "code", {"main.py": MAIN})


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_callable_runs_in_its_own_process_with_env_vars(
    code: Path, runners: Callable[..., LocalRunner]
) -> None:
    runner = runners(
        code_path=code,
        env_vars={"HOIST_TEST_VAR": "from-config"},
        resources={"cpu": "1"},
        unknown=1,
    )
    answer = runner.run({"x": 41})
    assert answer["status"] == "success"
    output = answer["output"]
    assert output["echo"] == 41
    assert output["env"] == "from-config"
    assert output["pid"] != os.getpid()
    assert Path(output["cwd"]) == code.resolve()
    assert runner.is_healthy()
    assert "main" not in sys.modules  # never imported into the caller
    assert "HOIST_TEST_VAR" not in os.environ
    # The worker stays up between calls (module state kept).
    assert runner.run({})["output"]["calls"] == 2


def test_async_callable(code: Path, runners: Callable[..., LocalRunner]) -> None:
    runner = runners(code_path=code, callable="apredict")
    assert runner.run({"x": 4}) == {"status": "success", "output": {"async": 8}}


def test_two_deployments_with_the_same_module_name_stay_apart(
    tmp_path: Path, runners: Callable[..., LocalRunner]
) -> None:
    first = write(tmp_path / "first", {"main.py": "def predict(inputs):\n    return 'first'\n"})
    second = write(tmp_path / "second", {"main.py": "def predict(inputs):\n    return 'second'\n"})
    a, b = runners(code_path=first), runners(code_path=second)
    for _ in range(2):
        assert a.run({}) == {"status": "success", "output": "first"}
        assert b.run({}) == {"status": "success", "output": "second"}
    assert "main" not in sys.modules


def test_an_exception_is_an_error_and_the_worker_stays(
    code: Path, runners: Callable[..., LocalRunner]
) -> None:
    runner = runners(code_path=code)
    pid = runner.run({})["output"]["pid"]
    answer = runner.run({"do": "raise", "x": 7})
    assert answer == {"status": "error", "error": {"type": "ValueError", "message": "bad value: 7"}}
    assert runner.run({})["output"]["pid"] == pid
    # The traceback is logged (the worker's stderr reaches the log through a pump thread).
    wait_until(lambda: "ValueError: bad value: 7" in runner.get_logs(), 10, "the traceback")


def test_timeout_kills_and_restarts_the_worker(
    code: Path, runners: Callable[..., LocalRunner]
) -> None:
    runner = runners(code_path=code, timeout=0.5)
    pid = runner.run({})["output"]["pid"]
    answer = runner.run({"do": "sleep", "seconds": 60})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "TimeoutError"
    assert "timeout of 0.5s" in answer["error"]["message"]
    wait_until(lambda: gone(pid), what="the overrunning worker to be killed")
    assert runner.is_healthy()  # restarted at once
    after = runner.run({"x": 1})
    assert after["status"] == "success"
    assert after["output"]["pid"] != pid
    assert after["output"]["calls"] == 1  # a fresh interpreter


@pytest.mark.parametrize(
    ("what", "expected"), [("exit", "exited with code 3"), ("segfault", "SIGSEGV")]
)
def test_a_crash_is_an_error_and_the_next_call_restarts(
    code: Path, runners: Callable[..., LocalRunner], what: str, expected: str
) -> None:
    runner = runners(code_path=code)
    pid = runner.run({})["output"]["pid"]
    answer = runner.run({"do": what})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "WorkerCrashedError"
    assert expected in answer["error"]["message"]
    assert "main:predict" in answer["error"]["message"]
    assert not runner.is_healthy()
    after = runner.run({})
    assert after["status"] == "success"
    assert after["output"]["pid"] != pid


def test_get_logs_has_the_worker_output(code: Path, runners: Callable[..., LocalRunner]) -> None:
    runner = runners(code_path=code)
    assert runner.run({"do": "print"})["status"] == "success"
    logs = wait_until(
        lambda: "warning on stderr" in runner.get_logs() and runner.get_logs(), what="the logs"
    )
    assert "hello from predict" in logs


def test_log_tail_is_bounded(code: Path, runners: Callable[..., LocalRunner]) -> None:
    runner = runners(code_path=code, log_chars=100)
    for _ in range(20):
        runner.run({"do": "print"})
    wait_until(
        lambda: runner.run({"do": "raise"}) and "ValueError" in runner.get_logs(),
        what="a traceback",
    )
    assert len(runner.get_logs()) < 2000


def test_unpicklable_output_is_an_error(code: Path, runners: Callable[..., LocalRunner]) -> None:
    answer = runners(code_path=code).run({"do": "unpicklable"})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "TypeError"
    assert "cannot be sent back" in answer["error"]["message"]


def test_stop_ends_the_worker(code: Path, runners: Callable[..., LocalRunner]) -> None:
    runner = runners(code_path=code)
    runner.start()
    runner.start()  # idempotent
    pid = runner.run({})["output"]["pid"]
    runner.stop()
    runner.stop()
    assert not runner.is_healthy()
    assert gone(pid)
    assert runner.run({})["output"]["pid"] != pid  # a call after stop starts it again


def test_a_missing_module_or_callable_is_an_error(
    code: Path, runners: Callable[..., LocalRunner]
) -> None:
    missing = runners(code_path=code, module="nowhere")
    with pytest.raises(EntryPointError, match="nowhere"):
        missing.start()
    answer = missing.run({})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "EntryPointError"
    assert "No module named 'nowhere'" in answer["error"]["message"]
    assert not missing.is_healthy()
    answer = runners(code_path=code, callable="nothing").run({})
    assert answer["status"] == "error"
    assert "has no attribute 'nothing'" in answer["error"]["message"]


def test_bad_arguments_are_refused(code: Path) -> None:
    with pytest.raises(UserInputError, match="is not a folder"):
        LocalRunner(code_path=code / "main.py")
    with pytest.raises(UserInputError, match="needs code_path"):
        LocalRunner(action="count")
    with pytest.raises(UserInputError, match="'process' strategy"):
        LocalRunner(code_path=code, app="main:app")
    with pytest.raises(UserInputError, match="timeout must be > 0"):
        LocalRunner(code_path=code, timeout=0)


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    return write(
        tmp_path / "counter",
        {
            "config.yaml": PLUGIN_CONFIG,
            "plugin/__init__.py": "",
            "plugin/actions.py": PLUGIN_ACTIONS,
        },
    )


def test_plugin_action(plugin: Path, runners: Callable[..., LocalRunner]) -> None:
    runner = runners(code_path=plugin, action="count")
    assert runner.run({"n": 4, "label": "apples"}) == {
        "status": "success",
        "output": {"total": 10, "label": "apples"},
    }
    wait_until(lambda: "counting apples" in runner.get_logs(), what="the action's log event")
    assert not [m for m in sys.modules if m.startswith("plugin")]


def test_plugin_action_invalid_inputs_name_the_field(
    plugin: Path, runners: Callable[..., LocalRunner]
) -> None:
    runner = runners(code_path=plugin, action="count")
    answer = runner.run({"n": 1000})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "ParamsValidationError"
    assert "n: must be <= 100" in answer["error"]["message"]
    assert answer["error"]["field_errors"] == {"n": ["must be <= 100"]}
    missing = runner.run({})
    assert missing["error"]["field_errors"] == {"n": ["field required"]}


def test_unknown_plugin_action_is_an_error(
    plugin: Path, runners: Callable[..., LocalRunner]
) -> None:
    answer = runners(code_path=plugin, action="nope").run({"n": 1})
    assert answer["status"] == "error"
    assert answer["error"]["type"] == "EntryPointError"
    assert "nope" in answer["error"]["message"]
