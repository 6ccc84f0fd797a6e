"""Async actions and steps are awaited; sync ones never need an event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pydantic import BaseModel

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import BaseAction
from hoist.plugins.context import RuntimeContext
from hoist.plugins.decorators import action
from hoist.plugins.steps import BaseStep, BaseStepContext, StepRegistry, StepResult
from hoist.runs.models import RunStatus
from hoist.runs.sinks.memory import MemorySink


class Params(BaseModel):
    n: int = 3


class Out(BaseModel):
    total: int


class AsyncAction(BaseAction[Params]):
    result_model = Out

    async def execute(self) -> Out:
        total = 0
        for i in range(self.params.n):
            await asyncio.sleep(0)
            total += i
            self.set_progress(i + 1, self.params.n)
        return Out(total=total)


class AsyncFailing(BaseAction[Params]):
    async def execute(self) -> None:
        await asyncio.sleep(0)
        raise ValueError("async boom")


@action(name="double", params=Params)
async def double(params: Params, context: RuntimeContext) -> dict[str, int]:
    await asyncio.sleep(0)
    return {"doubled": params.n * 2}


class LoopFree(BaseAction[Params]):
    def execute(self) -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return True
        return False


def test_async_execute_is_awaited_and_validated() -> None:
    sink = MemorySink()
    result = LocalExecutor(sink=sink).execute(AsyncAction, {"n": 4})
    assert result == Out(total=6)
    run = sink.list_runs()[0]
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == {"total": 6}


def test_async_function_action_is_awaited() -> None:
    sink = MemorySink()
    assert LocalExecutor(sink=sink).execute(double, {"n": 5}) == {"doubled": 10}
    assert sink.list_runs()[0].result == {"doubled": 10}


def test_async_error_fails_the_run_with_its_type() -> None:
    sink = MemorySink()
    with pytest.raises(ActionFailedError) as info:
        LocalExecutor(sink=sink).execute(AsyncFailing, {})
    assert info.value.error_type == "ValueError"
    assert sink.list_runs()[0].status is RunStatus.FAILED


def test_submitted_async_action_runs_on_worker_threads() -> None:
    sink = MemorySink()
    with LocalExecutor(sink=sink) as executor:
        handles = [executor.submit(AsyncAction, {"n": n}) for n in range(1, 5)]
        assert [h.result(30) for h in handles] == [Out(total=sum(range(n))) for n in range(1, 5)]


def test_sync_action_runs_without_an_event_loop() -> None:
    assert LocalExecutor(sink=MemorySink()).execute(LoopFree, {}) is True


def test_async_action_called_from_running_loop() -> None:
    async def main() -> Out:
        return LocalExecutor(sink=MemorySink()).execute(AsyncAction, {"n": 3})  # type: ignore[no-any-return]

    assert asyncio.run(main()) == Out(total=3)


class Shared(BaseStepContext):
    pass


class AsyncStep(BaseStep[BaseStepContext]):
    name = "async_step"

    async def execute(self, context: BaseStepContext) -> StepResult:
        await asyncio.sleep(0)
        return StepResult(data={"thread": threading.current_thread().name != ""})


class AsyncSteps(BaseAction[Params]):
    def setup_steps(self, registry: StepRegistry[BaseStepContext]) -> None:
        registry.register(AsyncStep())


def test_async_steps_are_awaited() -> None:
    sink = MemorySink()
    assert LocalExecutor(sink=sink).execute(AsyncSteps, {}) == {"thread": True}
    assert sink.list_runs()[0].status is RunStatus.SUCCEEDED
