"""Async actions inside a pipeline run here (the default executor): a class whose
``execute`` is async, an async function action and an async step are awaited, and their
results flow on to the next node (no coroutine object ever becomes a result)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from hoist import BaseAction, BaseStep, BaseStepContext, StepRegistry, StepResult, action
from hoist.pipelines import ActionPipeline
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import RunKind, RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime


class Start(BaseModel):
    n: int


class Counted(BaseModel):
    m: int


class AddOne(BaseAction[Start]):
    result_model = Counted

    async def execute(self) -> Counted:
        await asyncio.sleep(0)
        return Counted(m=self.params.n + 1)


@action(name="times_ten", params=Counted)
async def times_ten(params: Counted, context: RuntimeContext) -> dict[str, int]:
    await asyncio.sleep(0)
    return {"k": params.m * 10}


class Scaled(BaseModel):
    k: int


class MinusTwo(BaseStep[BaseStepContext]):
    name = "minus_two"

    async def execute(self, context: BaseStepContext) -> StepResult:
        await asyncio.sleep(0)
        return StepResult(data={"last": context.params.k - 2})


class Finish(BaseAction[Scaled]):
    def setup_steps(self, registry: StepRegistry[BaseStepContext]) -> None:
        registry.register(MinusTwo())


def _pipeline() -> ActionPipeline:
    return ActionPipeline([AddOne, times_ten, Finish], name="async-here")


def _nodes(runtime: Runtime) -> dict[str, Any]:
    runtime.sink.flush()
    (pipeline_run,) = runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))
    assert pipeline_run.status is RunStatus.SUCCEEDED
    children = runtime.store.list_runs(RunFilter(parent_id=pipeline_run.id))
    return {c.meta["node"]: (c.status, c.result) for c in children}


def test_async_nodes_are_awaited_and_feed_the_next(runtime: Runtime) -> None:
    result = _pipeline().execute({"n": 1})
    assert (result["m"], result["k"], result["last"]) == (2, 20, 18)
    assert _nodes(runtime) == {
        "add_one": (RunStatus.SUCCEEDED, {"m": 2}),
        "times_ten": (RunStatus.SUCCEEDED, {"k": 20}),
        "finish": (RunStatus.SUCCEEDED, {"last": 18}),
    }


def test_async_nodes_run_from_inside_a_running_event_loop(runtime: Runtime) -> None:
    async def main() -> dict[str, Any]:
        return _pipeline().execute({"n": 4})

    assert asyncio.run(main())["last"] == 48


def test_a_submitted_pipeline_of_async_nodes(runtime: Runtime) -> None:
    pipeline = _pipeline()
    run_id = pipeline.submit({"n": 0})
    assert pipeline.wait(run_id, timeout=60)["last"] == 8
