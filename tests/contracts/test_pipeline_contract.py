"""The pipeline side of the executor contract: the same bodies run a pipeline on every
executor (``local``, ``task``, ``job``, and the Ray pipeline executor). A new executor
joins by adding itself to the ``pipeline_executor`` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hoist.executors.base import Executor
from hoist.runs.models import RunStatus
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime
from tests.waiting import wait_until

ASYNC_NODES = ("add_async", "double_async", "step_async")
"""A class whose ``execute`` is async, an async function action, an action whose one
step is async; each takes what the one before it returns."""


def _pipeline(plugin_root: Path, names: tuple[str, ...]) -> Any:
    from hoist.pipelines import ActionPipeline
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(plugin_root)
    return ActionPipeline([plugin.load_action(name) for name in names], name="async-flow")


def test_async_actions_in_a_pipeline_are_awaited(
    pipeline_executor: Executor, contract_plugin: Path, runtime: Runtime
) -> None:
    pipeline = _pipeline(contract_plugin, ASYNC_NODES)
    run_id = pipeline.submit({"a": 20, "b": 1}, pipeline_executor)
    result = pipeline.wait(run_id, pipeline_executor, timeout=180)
    assert (result["total"], result["doubled"], result["stepped"]) == (21, 42, 43)
    pipeline_run = runtime.store.get_run(run_id)
    assert pipeline_run.status is RunStatus.SUCCEEDED
    assert pipeline_run.result is not None and pipeline_run.result["stepped"] == 43

    def node_results() -> dict[str, Any] | None:  # a worker's own sink commits its runs
        runtime.sink.flush()
        found = runtime.store.list_runs(RunFilter(parent_id=run_id))
        if len(found) < len(ASYNC_NODES) or not all(c.status.is_terminal for c in found):
            return None
        return {c.action: (c.status, c.result) for c in found}

    results = wait_until(node_results, 60, "the three node runs to end")
    assert results["add_async"][0] is RunStatus.SUCCEEDED
    assert results["add_async"][1]["total"] == 21
    assert results["double_async"] == (RunStatus.SUCCEEDED, {"doubled": 42})
    assert results["step_async"] == (RunStatus.SUCCEEDED, {"stepped": 43})
