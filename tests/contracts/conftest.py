"""The executor contract's fixtures: one ``place`` over every executor (in-process, a
warm Ray actor, a Ray Job), each built as a user builds it, with the contract plugin as
its ``working_dir``, so one test body names actions the same way everywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hoist.executors.base import Executor
from hoist.runs.runtime import Runtime
from tests.conftest import write_files
from tests.ray.conftest import PLUGIN_ACTIONS, PLUGIN_CONFIG, PLUGIN_FUNCTIONS
from tests.waiting import wait_until

CONTRACT_CONFIG = (
    PLUGIN_CONFIG
    + """\
  add_async:
    entrypoint: plugin.more:AddAsync
  bad_result:
    entrypoint: plugin.more:BadResult
  pidfile:
    entrypoint: plugin.more:PidFile
  double_async:
    entrypoint: plugin.more:double_async
  step_async:
    entrypoint: plugin.more:StepAsync
"""
)

MORE_ACTIONS = """
import asyncio
import os
import time
from pathlib import Path
from pydantic import BaseModel
from hoist import BaseAction, BaseStep, BaseStepContext, StepResult, action
from plugin.actions import AddParams, AddResult


class AddAsync(BaseAction[AddParams]):
    result_model = AddResult

    async def execute(self):
        await asyncio.sleep(0)
        self.set_progress(1, 1)
        return AddResult(total=self.params.a + self.params.b, pid=os.getpid())


class DoubleParams(BaseModel):
    total: int


@action(name="double_async", params=DoubleParams)
async def double_async(params, context):
    await asyncio.sleep(0)
    return {"doubled": params.total * 2}


class StepParams(BaseModel):
    doubled: int


class PlusOne(BaseStep[BaseStepContext]):
    name = "plus_one"

    async def execute(self, context):
        await asyncio.sleep(0)
        return StepResult(data={"stepped": context.params.doubled + 1})


class StepAsync(BaseAction[StepParams]):
    \"\"\"Its one step is async.\"\"\"

    def setup_steps(self, registry):
        registry.register(PlusOne())


class Counted(BaseModel):
    count: int


class BadResult(BaseAction[AddParams]):
    result_model = Counted

    def execute(self):
        return {"count": "not a number"}


class PidParams(BaseModel):
    path: str


class PidFile(BaseAction[PidParams]):
    \"\"\"Writes its worker's pid to a file, then works until stopped.\"\"\"

    def execute(self):
        Path(self.params.path).write_text(str(os.getpid()))
        for i in range(3000):
            self.set_progress(i, 3000)
            time.sleep(0.02)
"""

# A driver process that runs an action in-process (mode local) and dies with it.
LOCAL_DRIVER = """
import json, sys
from hoist.executors.local import LocalExecutor
executor = LocalExecutor(working_dir=sys.argv[1])
handle = executor.submit(sys.argv[2], json.loads(sys.argv[3]))
print(handle.run_id, flush=True)
handle.result()
"""


@dataclass
class Place:
    """An executor under contract.

    Attributes:
        mode: its mode name.
        executor: the executor.
        typed_results: results come back as the action's model (JSON data otherwise).
        start_doomed: starts ``pidfile`` with the given params where this mode runs its
            actions; returns the run id (the worker then gets killed by pid).
    """

    mode: str
    executor: Executor
    typed_results: bool
    start_doomed: Callable[[dict[str, Any]], str]


@pytest.fixture
def contract_plugin(tmp_path: Path) -> Path:
    return write_files(tmp_path / "calc", {
        "config.yaml": CONTRACT_CONFIG, "plugin/__init__.py": "",
        "plugin/actions.py": PLUGIN_ACTIONS, "plugin/functions.py": PLUGIN_FUNCTIONS,
        "plugin/more.py": MORE_ACTIONS,
    })  # fmt: skip


@pytest.fixture(params=["local", "task", "job"])
def place(
    request: pytest.FixtureRequest, contract_plugin: Path, runtime: Runtime
) -> Iterator[Place]:
    """Every executor, built the way a user builds it (``working_dir`` = the plugin)."""
    mode = request.param
    executor: Executor
    if mode == "local":
        from hoist.executors.local import LocalExecutor

        executor = LocalExecutor(runtime=runtime, working_dir=contract_plugin)
        drivers: list[subprocess.Popen[str]] = []

        def start_in_driver(params: dict[str, Any]) -> str:
            driver = subprocess.Popen(
                [sys.executable, "-c", LOCAL_DRIVER, str(contract_plugin), "pidfile",
                 json.dumps(params)],
                stdout=subprocess.PIPE, text=True, env={**os.environ},
            )  # fmt: skip
            drivers.append(driver)
            assert driver.stdout is not None
            return driver.stdout.readline().strip()

        yield Place(mode, executor, True, start_in_driver)
        for driver in drivers:
            if driver.poll() is None:
                driver.kill()
            driver.wait(30)
            assert driver.stdout is not None
            driver.stdout.close()
    else:
        cluster = request.getfixturevalue("ray_cluster")
        if mode == "task":
            from hoist.executors.ray.task import RayActorExecutor

            executor = RayActorExecutor(
                address=cluster.address, runtime=runtime, num_cpus=0.25,
                working_dir=contract_plugin,
            )  # fmt: skip
        else:
            from hoist.executors.ray.job import RayJobExecutor

            executor = RayJobExecutor(
                address=cluster.address, runtime=runtime, working_dir=contract_plugin
            )
        ray_executor = executor

        def start_on_worker(params: dict[str, Any]) -> str:
            return ray_executor.submit("pidfile", params).run_id

        yield Place(mode, executor, mode == "task", start_on_worker)
    executor.shutdown()


@pytest.fixture(params=["local", "task", "job", "pipeline"])
def pipeline_executor(
    request: pytest.FixtureRequest, contract_plugin: Path, runtime: Runtime
) -> Iterator[Executor]:
    """Every executor a pipeline runs on, built as a user builds it: the pipeline's engine
    here, each action where the executor runs actions (``local``, ``task``, ``job``), or
    the whole pipeline in a warm Ray actor (``pipeline``: ``RayPipelineExecutor``)."""
    mode = request.param
    executor: Executor
    if mode == "local":
        from hoist.executors.local import LocalExecutor

        executor = LocalExecutor(runtime=runtime, working_dir=contract_plugin)
    else:
        address = request.getfixturevalue("ray_cluster").address
        if mode == "task":
            from hoist.executors.ray.task import RayActorExecutor

            executor = RayActorExecutor(
                address=address, runtime=runtime, num_cpus=0.25, working_dir=contract_plugin
            )
        elif mode == "job":
            from hoist.executors.ray.job import RayJobExecutor

            executor = RayJobExecutor(address=address, runtime=runtime, working_dir=contract_plugin)
        else:
            from hoist.pipelines import RayPipelineExecutor

            executor = RayPipelineExecutor(
                address=address, runtime=runtime, num_cpus=0, working_dir=contract_plugin
            )
    yield executor
    executor.shutdown()


def kill_worker_of(pid_file: Path) -> None:
    """SIGKILL the worker whose pid the ``pidfile`` action wrote."""
    text = wait_until(lambda: pid_file.exists() and pid_file.read_text(), 60, "the worker pid")
    os.kill(int(text), signal.SIGKILL)
