"""ActionPipeline: accumulation, validation at construction, DAGs, fan-out, reliability."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from actions import (  # type: ignore[import-not-found]
    Convert,
    Download,
    Export,
    Flaky,
    Meet,
    PerItem,
    Sleep,
    Train,
)
from tests.waiting import wait_until

from hoist.errors import (
    ActionFailedError,
    IncompatibleTypesError,
    ParamsValidationError,
    PipelineDefinitionError,
    RunCancelledError,
)
from hoist.executors.local import LocalExecutor
from hoist.pipelines import ActionPipeline, PipelineWarning, RetryPolicy, node
from hoist.runs.models import RunKind, RunStatus
from hoist.runs.sinks.memory import MemorySink


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def executor(sink: MemorySink) -> LocalExecutor:
    return LocalExecutor(sink=sink, progress_interval=0)


def _pipeline_run(sink: MemorySink) -> Any:
    (run,) = [r for r in sink.runs.values() if r.kind == RunKind.PIPELINE]
    return run


def test_sequence_accumulates_params(executor: LocalExecutor, sink: MemorySink) -> None:
    pipeline = ActionPipeline([Download, Convert, Train])
    result = pipeline.execute({"dataset_id": 2, "epochs": 2}, executor=executor)
    assert result["converted"] == "DATASET 2"
    assert result["model"] == "model(DATASET 2, 2)"
    assert result["files"] == ["f0.jpg", "f1.jpg"]
    run = _pipeline_run(sink)
    assert run.status is RunStatus.SUCCEEDED and run.result == result
    children = sorted((r for r in sink.runs.values() if r.parent_id == run.id),
                      key=lambda r: r.created_at)  # fmt: skip
    assert [c.action for c in children] == ["download", "convert", "train"]
    checkpoints = [e for e in sink.events(run.id) if e.type == "checkpoint"]
    assert [c.name for c in checkpoints] == ["download", "convert", "train"]
    assert checkpoints[1].data["result"] == {"converted": "DATASET 2"}
    assert checkpoints[1].data["run_id"] == children[1].id
    bar = [e.current for e in sink.events(run.id) if e.type == "progress"]
    assert bar == [1, 2, 3]


def test_shared_working_dir(executor: LocalExecutor, sink: MemorySink) -> None:
    ActionPipeline([Download, Convert]).execute({"dataset_id": 1}, executor=executor)
    run = _pipeline_run(sink)
    work = Path(run.meta["working_dir"])
    assert (work / "datasets" / "data.txt").read_text() == "dataset 1"
    assert {p.name for p in work.iterdir()} >= {"datasets", "models", "artifacts"}


def test_incomplete_first_params_fail_before_anything_runs(
    executor: LocalExecutor, sink: MemorySink
) -> None:
    with pytest.raises(ParamsValidationError) as info:
        ActionPipeline([Download, Convert]).execute({"dataset_id": 0}, executor=executor)
    assert info.value.field_errors == {"download.dataset_id": ["must be >= 1"]}
    assert sink.runs == {}


def test_validate_initial_params_lists_what_is_missing() -> None:
    pipeline = ActionPipeline([Download, Convert, Train, Export])
    assert pipeline.validate_initial_params({}) == ["download.dataset_id"]
    assert pipeline.validate_initial_params({"dataset_id": 1}) == []


def test_coverage_and_type_checks_warn_or_raise() -> None:
    with pytest.warns(PipelineWarning) as record:
        ActionPipeline([Train, Convert])
    messages = sorted(str(w.message) for w in record)
    assert messages == [
        "'train' produces ModelWeights but 'convert' needs Dataset",
        "convert.path not produced by any earlier action: the caller must supply it",
    ]
    with pytest.raises(IncompatibleTypesError):
        ActionPipeline([node(Train), node(Convert, params={"path": "x"})], strict=True)
    with pytest.raises(PipelineDefinitionError, match=r"train\.converted not produced"):
        ActionPipeline([Download, Train], strict=True)
    ActionPipeline([Export, Convert], strict=True)  # Export's output is unknown: no verdict


def test_graph_errors_name_the_nodes() -> None:
    with pytest.raises(PipelineDefinitionError, match="cycle: a -> b -> a") as info:
        ActionPipeline([node(Sleep, "a", depends_on=["b"]), node(Sleep, "b", depends_on=["a"])])
    assert set(info.value.nodes) == {"a", "b"}
    with pytest.raises(PipelineDefinitionError, match="'b' depends on 'nope'"):
        ActionPipeline([node(Sleep, "a"), node(Sleep, "b", depends_on=["nope"])])
    with pytest.raises(PipelineDefinitionError, match="two nodes are named 'a'"):
        ActionPipeline([node(Sleep, "a", depends_on=[]), node(Sleep, "a", depends_on=[])])


def test_dag_branches_overlap_and_join_merges_in_order(executor: LocalExecutor) -> None:
    Meet.log.clear()
    Meet.barrier = threading.Barrier(2)  # left and right pass it only if they run at once
    dag = ActionPipeline(
        [
            node(Meet, "left", depends_on=[], params={"label": "left"}),
            node(Meet, "right", depends_on=[], params={"label": "right"}),
            node(
                Meet, "join", depends_on=["left", "right"], params={"label": "join", "meet": False}
            ),
        ]
    )
    result = dag.execute({}, executor=executor)
    assert set(Meet.log[:4]) == {"left start", "right start", "left end", "right end"}
    assert Meet.log[4:] == ["join start", "join end"]  # the join starts after both
    assert result == {"left": "met", "right": "met", "join": "met"}


def test_join_order_is_defined(executor: LocalExecutor) -> None:
    dag = ActionPipeline(
        [
            node(Export, "first", depends_on=[], params={"model": "A"}),
            node(Export, "second", depends_on=[], params={"model": "B"}),
            node(Sleep, "join", depends_on=["second", "first"], params={"seconds": 0}),
        ]
    )
    # Both parents produce "exported"; the later node in pipeline order wins.
    assert dag.execute({}, executor=executor)["exported"] == "B.onnx"


def test_retries_with_backoff(executor: LocalExecutor, sink: MemorySink, tmp_path: Path) -> None:
    state = tmp_path / "flaky"
    policy = RetryPolicy(max_attempts=3, backoff=0.01, retry_on=(ConnectionError,))
    result = ActionPipeline([node(Flaky, retries=policy)]).execute(
        {"state_file": str(state)}, executor=executor
    )
    assert result["attempts_used"] == 3
    attempts = sorted(r.meta["attempt"] for r in sink.runs.values() if r.kind == RunKind.ACTION)
    assert attempts == [1, 2, 3]
    statuses = [r.status for r in sink.runs.values() if r.kind == RunKind.ACTION]
    assert statuses.count(RunStatus.FAILED) == 2


def test_retries_exhausted_or_not_retryable(executor: LocalExecutor, tmp_path: Path) -> None:
    state = tmp_path / "flaky"
    with pytest.raises(ActionFailedError, match="flaky failure 2"):
        ActionPipeline([node(Flaky, retries=2)]).execute(
            {"state_file": str(state), "fail_times": 5}, executor=executor
        )
    state.unlink()
    only_value_errors = RetryPolicy(max_attempts=5, retry_on=(ValueError,))
    with pytest.raises(ActionFailedError, match="flaky failure 1"):
        ActionPipeline([node(Flaky, retries=only_value_errors)]).execute(
            {"state_file": str(state)}, executor=executor
        )


def test_backoff_grows_with_jitter() -> None:
    policy = RetryPolicy(max_attempts=5, backoff=1.0, max_backoff=5.0, jitter=0.1)
    delays = [policy.delay(n) for n in (1, 2, 3, 4)]
    for got, base in zip(delays, (1, 2, 4, 5), strict=True):
        assert base * 0.9 <= got <= base * 1.1


def test_timeout_fails_the_node(executor: LocalExecutor, sink: MemorySink) -> None:
    pipeline = ActionPipeline([node(Sleep, timeout=0.2)])
    with pytest.raises(ActionFailedError, match=r"exceeded 0\.2s") as info:
        # An hour-long action: the pipeline returns at all only because the timeout ended it.
        pipeline.execute({"seconds": 3600, "label": "timed-out"}, executor=executor)
    assert info.value.error_type == "TimeoutError"
    assert "timed-out" not in [label for label, _, _ in Sleep.spans]  # stopped, not finished
    child = next(r for r in sink.runs.values() if r.kind == RunKind.ACTION)
    assert child.status is RunStatus.FAILED and child.error["type"] == "TimeoutError"


def test_failure_keeps_earlier_checkpoints(executor: LocalExecutor, sink: MemorySink) -> None:
    pipeline = ActionPipeline([Download, node(Convert, params={"path": "/no/such/file"})])
    with pytest.raises(ActionFailedError, match=r"FileNotFoundError|No such file"):
        pipeline.execute({"dataset_id": 1}, executor=executor)
    run = _pipeline_run(sink)
    assert run.status is RunStatus.FAILED
    assert [e.name for e in sink.events(run.id) if e.type == "checkpoint"] == ["download"]


def test_cancel_a_running_pipeline_cancels_the_tree(sink: MemorySink) -> None:
    executor = LocalExecutor(sink=sink)
    dag = ActionPipeline(
        [
            node(Sleep, "a", depends_on=[], params={"seconds": 10}),
            node(Sleep, "b", depends_on=[], params={"seconds": 10}),
            node(Sleep, "c", depends_on=["a", "b"]),
        ]
    )
    from hoist.pipelines.launch import start_pipeline

    handle = start_pipeline(dag, {}, executor=executor)
    wait_until(lambda: sum(r.status is RunStatus.RUNNING for r in sink.runs.values()) == 3,
               what="the pipeline and both branches to be running")  # fmt: skip
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.result(timeout=10)
    statuses = {r.action: r.status for r in sink.runs.values()}
    assert all(s is RunStatus.CANCELLED for s in statuses.values()), statuses
    assert "sleep" in statuses  # the children exist and were cancelled; 'c' never started
    assert len(sink.runs) == 3


def test_fan_out_runs_one_action_run_per_item(executor: LocalExecutor, sink: MemorySink) -> None:
    pipeline = ActionPipeline(
        [Download, node(PerItem, map_over="files", item_param="item", collect_as="per_file")]
    )
    result = pipeline.execute({"dataset_id": 3}, executor=executor)
    assert [r["name"] for r in result["per_file"]] == ["f0.jpg", "f1.jpg", "f2.jpg"]
    items = sorted(r.meta["item"] for r in sink.runs.values() if r.action == "per_item")
    assert items == [0, 1, 2]


def test_fan_out_over_a_non_list_is_a_clear_error(executor: LocalExecutor) -> None:
    with pytest.raises(ActionFailedError, match="maps over 'dataset_id', which is not a list"):
        ActionPipeline([Download, node(PerItem, map_over="dataset_id")]).execute(
            {"dataset_id": 1}, executor=executor
        )


def test_resources_are_recorded(executor: LocalExecutor, sink: MemorySink) -> None:
    dag = ActionPipeline([node(Export, resources={"cpu": 2, "gpu": 1, "memory": 2**30})])
    dag.execute({"model": "m"}, executor=executor)
    (described,) = _pipeline_run(sink).meta["nodes"]
    assert described["resources"] == {"cpu": 2, "gpu": 1, "memory": 2**30}


def test_submit_and_wait(runtime: Any) -> None:
    executor = LocalExecutor(runtime=runtime)
    pipeline = ActionPipeline([Download, Convert])
    run_id = pipeline.submit({"dataset_id": 2}, executor)
    assert isinstance(run_id, str)
    result = pipeline.wait(run_id, executor, timeout=20)
    assert result["converted"] == "DATASET 2"
