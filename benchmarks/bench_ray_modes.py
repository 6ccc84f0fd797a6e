"""Ray job mode, remote pipelines and event latency, each against raw Ray on the same
private loopback cluster in one run:

- job mode, submit to result of a no-op action vs a raw Jobs API hello-world job
  (submitted and polled every 5 ms until SUCCEEDED);
- a pipeline of no-op actions in a warm actor: overhead per action over one raw actor call;
- event latency from a worker's ``set_progress`` to a follower on the driver
  (``RunHandle.follow``, the reader behind ``hoist runs logs --follow``).

    .venv/bin/python benchmarks/bench_ray_modes.py
"""

from __future__ import annotations

import statistics
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from _util import plugin_home, report  # type: ignore[import-not-found]

PLUGIN = {
    "config.yaml": (
        "name: Bench\ncode: bench\nactions:\n"
        "  noop:\n    entrypoint: plugin.a:Noop\n"
        "  ticker:\n    entrypoint: plugin.a:Ticker\n"
    ),
    "plugin/__init__.py": "",
    "plugin/a.py": textwrap.dedent(
        """
        import time
        from pydantic import BaseModel
        from hoist import BaseAction

        class P(BaseModel):
            x: int = 1

        class Noop(BaseAction[P]):
            def execute(self):
                return None

        class T(BaseModel):
            ticks: int = 200
            every: float = 0.02

        class Ticker(BaseAction[T]):
            def execute(self):
                for i in range(self.params.ticks):
                    self.set_progress(i + 1, self.params.ticks)
                    time.sleep(self.params.every)
        """
    ),
}

PIPELINE_LENGTH = 20


def _job_mode(cluster: Any, root: Path, rounds: int = 7) -> tuple[float, float]:
    from ray.job_submission import JobSubmissionClient

    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.executors.ray.job import RayJobExecutor
    from hoist.plugins.discovery import load_plugin

    client = JobSubmissionClient(cluster.dashboard_url)
    executor = RayJobExecutor(address=cluster.address)
    plugin = load_plugin(root)
    action, options = plugin.load_action("noop"), plugin_run_options(plugin, "noop")

    def raw() -> None:
        job = client.submit_job(entrypoint="python -c \"print('hello')\"")
        while client.get_job_status(job).value not in ("SUCCEEDED", "FAILED", "STOPPED"):
            time.sleep(0.005)

    def hoist() -> None:
        executor.execute(action, {"x": 1}, **options)

    raw(), hoist()  # warm: the job supervisor's first start is slow
    times: dict[str, list[float]] = {"raw": [], "hoist": []}
    for _ in range(rounds):
        for name, fn in (("raw", raw), ("hoist", hoist)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["hoist"]), statistics.median(times["raw"])


def _pipeline(cluster: Any, root: Path, ray: Any, rounds: int = 7) -> tuple[float, float]:
    from hoist.pipelines import ActionPipeline, RayPipelineExecutor, node
    from hoist.plugins.discovery import load_plugin

    noop = load_plugin(root).load_action("noop")
    pipeline = ActionPipeline([node(noop, f"n{i}") for i in range(PIPELINE_LENGTH)], name="noops")
    executor = RayPipelineExecutor(address=cluster.address, num_cpus=0.25)

    @ray.remote(num_cpus=0.25)
    class Raw:
        def noop(self) -> None:
            return None

    raw_actor = Raw.remote()
    ray.get(raw_actor.noop.remote())
    executor.submit(pipeline, {"x": 1}).result()
    best = {"raw": float("inf"), "hoist": float("inf")}
    for _ in range(rounds):
        start = time.perf_counter()
        ray.get(raw_actor.noop.remote())
        best["raw"] = min(best["raw"], time.perf_counter() - start)
        start = time.perf_counter()
        executor.submit(pipeline, {"x": 1}).result()
        best["hoist"] = min(best["hoist"], time.perf_counter() - start)
    executor.shutdown()
    return best["hoist"], best["raw"]


def _event_latency(cluster: Any, root: Path) -> list[float]:
    from hoist.executors.plugin_runner import plugin_run_options
    from hoist.executors.ray.task import RayActorExecutor
    from hoist.plugins.discovery import load_plugin

    plugin = load_plugin(root)
    options = plugin_run_options(plugin, "ticker")
    executor = RayActorExecutor(address=cluster.address, num_cpus=0.25, progress_interval=0)
    executor.execute(plugin.load_action("noop"), {}, **plugin_run_options(plugin, "noop"))
    handle = executor.submit(plugin.load_action("ticker"), {"ticks": 200}, **options)
    latencies = []
    for event in handle.follow():
        if event.type == "progress":
            latencies.append(time.time() - event.ts)
    handle.result()
    executor.shutdown()
    return latencies


def main() -> None:
    root = plugin_home(PLUGIN, "hoist-bench-ray-modes-")
    from hoist.executors.ray.cluster import LocalRayCluster

    with LocalRayCluster(num_cpus=2) as cluster:
        from hoist.executors.ray.connect import ensure_ray

        ray = ensure_ray(cluster.address)
        latencies = _event_latency(cluster, root)
        pipe_hoist, pipe_raw = _pipeline(cluster, root, ray)
        job_hoist, job_raw = _job_mode(cluster, root)
        ray.shutdown()
    per_action = (pipe_hoist - pipe_raw) / PIPELINE_LENGTH
    quantiles = statistics.quantiles(latencies, n=100)
    report(
        [
            ("benchmark", "measured", "baseline (same run)", "ratio / target"),
            (
                "job mode, submit to result, no-op action (median of 7)",
                f"{job_hoist:.3f} s",
                f"raw Jobs API hello-world {job_raw:.3f} s",
                f"{job_hoist / job_raw:.2f}x; target <= 1.1x",
            ),
            (
                f"remote pipeline of {PIPELINE_LENGTH} no-op actions in a warm actor",
                f"{pipe_hoist * 1e3:.1f} ms ({per_action * 1e3:.2f} ms/action over raw)",
                f"raw ray.get(actor.noop.remote()) {pipe_raw * 1e3:.2f} ms",
                "target <= 2 ms/action",
            ),
            (
                f"event latency, set_progress -> follower ({len(latencies)} events)",
                f"p50 {quantiles[49] * 1e3:.1f} ms, p95 {quantiles[94] * 1e3:.1f} ms",
                "worker and follower on one machine",
                "target p95 <= 100 ms",
            ),
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
