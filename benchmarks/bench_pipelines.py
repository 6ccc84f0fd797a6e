"""Pipeline benchmarks: per-action overhead of a local pipeline with checkpoints in the
SQLite store, against calling the same actions directly; and the resume decision for a
100-action run.

    .venv/bin/python benchmarks/bench_pipelines.py
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path

from _util import best_per_op, report  # type: ignore[import-not-found]
from pydantic import BaseModel


class NoopParams(BaseModel):
    x: int = 1


def main() -> None:
    from hoist.errors import ActionFailedError
    from hoist.executors.local import LocalExecutor
    from hoist.pipelines import ActionPipeline, node
    from hoist.pipelines.resume import load_resume_state
    from hoist.plugins.action import BaseAction
    from hoist.runs.runtime import Runtime
    from hoist.settings import Settings

    class Noop(BaseAction[NoopParams]):
        def execute(self) -> dict[str, int]:
            return {"x": self.params.x + 1}

    class Fail(BaseAction[NoopParams]):
        def execute(self) -> None:
            raise RuntimeError("stop here")

    home = Path(tempfile.mkdtemp(prefix="hoist-bench-"))
    runtime = Runtime(Settings(home=home))
    executor = LocalExecutor(runtime=runtime)
    ten = ActionPipeline([node(Noop, f"n{i}") for i in range(10)])

    def direct() -> None:
        params = {"x": 1}
        for _ in range(10):
            params.update(Noop(NoopParams(**params), None).execute())  # type: ignore[arg-type]

    ten.execute({"x": 1}, executor=executor)  # warm up
    base = best_per_op(direct, 2000) / 10
    per_run = best_per_op(lambda: ten.execute({"x": 1}, executor=executor), 30)
    overhead = per_run / 10 - base

    hundred = ActionPipeline([*(node(Noop, f"n{i}") for i in range(100)), node(Fail, "last")])
    with contextlib.suppress(ActionFailedError):
        hundred.execute({"x": 1}, executor=executor)
    runtime.sink.flush()
    from hoist.runs.reader import RunFilter

    (failed,) = runtime.store.list_runs(RunFilter(kind="pipeline", status=["failed"]))
    decision = best_per_op(lambda: load_resume_state(runtime.store, failed.id, None), 20)
    state = load_resume_state(runtime.store, failed.id, None)
    assert len(state.checkpoints) == 100

    start = time.perf_counter()
    hundred_ok = ActionPipeline([node(Noop, f"n{i}") for i in range(100)])
    hundred_ok.execute({"x": 1}, executor=executor)
    hundred_time = time.perf_counter() - start
    runtime.close()
    report(
        [
            ("benchmark", "measured", "baseline (same run)", "ratio / target"),
            (
                "10 no-op actions, local pipeline, SQLite checkpoints",
                f"{per_run * 1e3:.2f} ms/pipeline",
                f"direct calls {base * 1e6:.2f} us/action",
                f"+{overhead * 1e3:.3f} ms/action; target <= 0.5 ms",
            ),
            (
                "resume decision, 100-action run",
                f"{decision * 1e3:.2f} ms",
                f"100-action pipeline run {hundred_time * 1e3:.0f} ms",
                "target <= 20 ms",
            ),
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
