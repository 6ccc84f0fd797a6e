"""Resume: skip what finished, restore the params snapshot, refuse what is unsafe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from actions import Convert, Download, Export, PerItem, Train  # type: ignore[import-not-found]
from tests.waiting import wait_until

from hoist.errors import ActionFailedError, ResumeError, RunNotFoundError
from hoist.executors.local import LocalExecutor
from hoist.pipelines import ActionPipeline, node
from hoist.pipelines.progress import pipeline_progress
from hoist.runs.models import CheckpointEvent, RunKind, RunStatus, StepEvent
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime

HERE = Path(__file__).parent


def _counts(folder: Path) -> dict[str, int]:
    return {f.stem: len(f.read_text().splitlines()) for f in folder.glob("*.count")}


def _pipeline() -> ActionPipeline:
    return ActionPipeline([Download, Convert, Train, Export], name="train-flow")


def test_crash_during_third_action_then_resume(runtime: Runtime, tmp_path: Path) -> None:
    """kill -9 a pipeline process during its third action; resume; count side effects."""
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    crashed.mkdir()
    clean.mkdir()
    params = {"dataset_id": 3, "epochs": 3, "counter_dir": str(crashed), "delay": 0.0}
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from actions import Convert, Download, Export, Train
        from hoist.pipelines import ActionPipeline, node
        pipeline = ActionPipeline(
            [Download, Convert, node(Train, params={{"delay": 60}}), Export], name="train-flow"
        )
        pipeline.execute({params!r})
        """
    )
    env = {**os.environ, "HOIST_HOME": str(runtime.settings.home)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    store = runtime.store
    try:

        def training() -> bool:
            assert proc.poll() is None, "the pipeline process ended early"
            return bool(store.list_runs(RunFilter(action="train", status=[RunStatus.RUNNING])))

        wait_until(training, timeout=60, what="train to start", poll=0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _counts(crashed) == {"download": 1, "convert": 1}
    (old,) = store.list_runs(RunFilter(kind=RunKind.PIPELINE))
    assert old.status is RunStatus.RUNNING  # the dead process could not say otherwise

    executor = LocalExecutor(runtime=runtime)
    resumed = _pipeline().execute(resume_from=old.id, executor=executor, force=True)
    assert _counts(crashed) == {"download": 1, "convert": 1, "train": 1, "export": 1}

    uninterrupted = _pipeline().execute({**params, "counter_dir": str(clean)}, executor=executor)
    own = ("counter_dir", "path")  # each run has its own counters and working folder
    assert {k: v for k, v in resumed.items() if k not in own} == {
        k: v for k, v in uninterrupted.items() if k not in own
    }
    assert old.id in resumed["path"]  # the resumed run works in the crashed run's folder
    runtime.sink.flush()
    assert store.get_run(old.id).status is RunStatus.LOST
    killed_train = store.list_runs(RunFilter(parent_id=old.id, action="train"))
    assert [r.status for r in killed_train] == [RunStatus.LOST]
    new = store.list_runs(RunFilter(kind=RunKind.PIPELINE, limit=3))[1]
    assert new.meta["resume_of"] == old.id and new.status is RunStatus.SUCCEEDED
    progress = pipeline_progress(store, new.id)
    assert [a.status for a in progress.actions] == ["skipped", "skipped", "completed", "completed"]


def test_resume_a_live_run_is_refused_without_force(runtime: Runtime) -> None:
    executor = LocalExecutor(runtime=runtime)
    slow = ActionPipeline([Download, node(Convert, params={"delay": 5})])
    run_id = slow.submit({"dataset_id": 1}, executor)

    def running() -> bool:
        runtime.sink.flush()
        try:
            return runtime.store.get_run(run_id).status is RunStatus.RUNNING
        except RunNotFoundError:
            return False

    wait_until(running, what="the pipeline run to be recorded running")
    with pytest.raises(ResumeError, match="still running"):
        slow.execute(resume_from=run_id, executor=executor)
    from hoist.executors.handle import RunHandle

    runtime.store.request_cancel(run_id)
    RunHandle.attach(run_id, runtime.store).wait(timeout=20)


def _failed_run(runtime: Runtime, tmp_path: Path) -> tuple[str, Path]:
    counters = tmp_path / "c"
    counters.mkdir(exist_ok=True)
    broken = ActionPipeline([Download, node(Convert, params={"path": "/missing"}), Train])
    with pytest.raises(ActionFailedError):
        broken.execute(
            {"dataset_id": 2, "counter_dir": str(counters)}, executor=LocalExecutor(runtime=runtime)
        )
    runtime.sink.flush()
    (run,) = runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))
    return run.id, counters


def test_resume_after_failure_runs_only_the_rest(runtime: Runtime, tmp_path: Path) -> None:
    run_id, counters = _failed_run(runtime, tmp_path)
    fixed = ActionPipeline([Download, Convert, Train])
    result = fixed.execute(resume_from=run_id, executor=LocalExecutor(runtime=runtime))
    assert result["model"] == "model(DATASET 2, 3)"
    assert _counts(counters) == {"download": 1, "convert": 1, "train": 1}


def test_resume_of_a_succeeded_run_is_a_no_op(runtime: Runtime) -> None:
    executor = LocalExecutor(runtime=runtime)
    pipeline = ActionPipeline([Download])
    first = pipeline.submit({"dataset_id": 1}, executor)
    pipeline.wait(first, executor, timeout=20)
    again = pipeline.submit(executor=executor, resume_from=first)
    assert again == first
    assert len(runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))) == 1


def test_changed_params_are_refused_unless_allowed(runtime: Runtime, tmp_path: Path) -> None:
    run_id, counters = _failed_run(runtime, tmp_path)
    fixed = ActionPipeline([Download, Convert, Train])
    executor = LocalExecutor(runtime=runtime)
    changed = {"dataset_id": 2, "counter_dir": str(counters), "epochs": 7}
    with pytest.raises(ResumeError, match=r"params differ from the original run \(epochs\)"):
        fixed.execute(changed, executor=executor, resume_from=run_id)
    result = fixed.execute(changed, executor=executor, resume_from=run_id,
                           allow_param_changes=True)  # fmt: skip
    assert result["model"] == "model(DATASET 2, 7)"


def _inject(runtime: Runtime, run_id: str, event: Any) -> None:
    runtime.store.write_batch([], [event])


def test_corrupt_checkpoint_is_a_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    run_id, _ = _failed_run(runtime, tmp_path)
    last = runtime.store.events(run_id)[-1].seq
    _inject(runtime, run_id, CheckpointEvent(run_id=run_id, seq=last + 1, ts=1.0, name="download",
                                             data={"attempts": "many"}))  # fmt: skip
    with pytest.raises(ResumeError, match="checkpoint of node 'download' is corrupt"):
        _pipeline().execute(resume_from=run_id, executor=LocalExecutor(runtime=runtime))


def test_missing_checkpoint_is_a_clear_error(runtime: Runtime, tmp_path: Path) -> None:
    run_id, _ = _failed_run(runtime, tmp_path)
    last = runtime.store.events(run_id)[-1].seq
    _inject(runtime, run_id, StepEvent(run_id=run_id, seq=last + 1, ts=1.0, step="convert",
                                       phase="finished"))  # fmt: skip
    with pytest.raises(ResumeError, match="checkpoint of node 'convert' is missing"):
        _pipeline().execute(resume_from=run_id, executor=LocalExecutor(runtime=runtime))


def test_resume_unknown_or_non_pipeline_run(runtime: Runtime) -> None:
    executor = LocalExecutor(runtime=runtime)
    with pytest.raises(RunNotFoundError):
        _pipeline().execute(resume_from="nope", executor=executor)
    executor.execute(Export, {"model": "m"})
    runtime.sink.flush()
    (action_run,) = runtime.store.list_runs()
    with pytest.raises(ResumeError, match="not a pipeline run"):
        _pipeline().execute(resume_from=action_run.id, executor=executor)


def test_fan_out_resumes_at_item_granularity(runtime: Runtime, tmp_path: Path) -> None:
    counters = tmp_path / "items"
    counters.mkdir()
    executor = LocalExecutor(runtime=runtime)
    pipeline = ActionPipeline([Download, node(PerItem, map_over="files", parallelism=1)])
    params = {"dataset_id": 4, "counter_dir": str(counters), "fail_on": "f2.jpg"}
    with pytest.raises(ActionFailedError, match=r"cannot handle f2\.jpg"):
        pipeline.execute(params, executor=executor)
    runtime.sink.flush()
    (old,) = runtime.store.list_runs(RunFilter(kind=RunKind.PIPELINE))
    done_before = _counts(counters)
    assert done_before["item-f0.jpg"] == 1 and "item-f2.jpg" not in done_before
    result = pipeline.execute({**params, "fail_on": None}, executor=executor, resume_from=old.id,
                              allow_param_changes=True)  # fmt: skip
    assert [r["name"] for r in result["per_item"]] == ["f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg"]
    after = _counts(counters)
    assert all(after[f"item-f{i}.jpg"] == 1 for i in range(4)), after
