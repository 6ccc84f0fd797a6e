"""Ray benchmarks against raw Ray on the same private loopback cluster, in one run:
a warm task-mode call of a no-op action vs ``ray.get(actor.method.remote())``. Hoist
calls its warm actors through a compiled graph (a shared-memory channel); the same call
through plain method calls (``compiled=False``) is shown too.

    .venv/bin/python benchmarks/bench_ray.py

Rounds of both are interleaved and the best round of each is kept: on a 2-core machine
the background (raylet, GCS, writers) makes single rounds noisy.
"""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

from _util import plugin_home, report  # type: ignore[import-not-found]

PLUGIN = {
    "config.yaml": "name: Bench\ncode: bench\nactions:\n  noop:\n    entrypoint: plugin.a:Noop\n",
    "plugin/__init__.py": "",
    "plugin/a.py": textwrap.dedent(
        """
        from pydantic import BaseModel
        from hoist import BaseAction

        class P(BaseModel):
            x: int = 1

        class Noop(BaseAction[P]):
            def execute(self):
                return None
        """
    ),
}


def _interleaved(fns: dict[str, object], calls: int, rounds: int) -> dict[str, float]:
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()  # type: ignore[operator]
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    root = plugin_home(PLUGIN, "hoist-bench-ray-")
    from hoist.executors.ray.cluster import LocalRayCluster

    with LocalRayCluster(num_cpus=2) as cluster:
        from hoist.executors.plugin_runner import plugin_run_options
        from hoist.executors.ray.connect import ensure_ray
        from hoist.executors.ray.task import RayActorExecutor
        from hoist.plugins.discovery import load_plugin

        ray = ensure_ray(cluster.address)

        @ray.remote(num_cpus=0.5)
        class Raw:
            def noop(self) -> None:
                return None

        raw = Raw.remote()
        ray.get(raw.noop.remote())
        executor = RayActorExecutor(address=cluster.address, num_cpus=0.5)
        plain = RayActorExecutor(address=cluster.address, num_cpus=0.5, compiled=False)
        plugin = load_plugin(root)
        action = plugin.load_action("noop")
        options = plugin_run_options(plugin, "noop")
        executor.execute(action, {"x": 1}, **options)
        plain.execute(action, {"x": 1}, **options)
        best = _interleaved(
            {
                "raw": lambda: ray.get(raw.noop.remote()),
                "hoist": lambda: executor.execute(action, {"x": 1}, **options),
                "plain": lambda: plain.execute(action, {"x": 1}, **options),
            },
            calls=300,
            rounds=7,
        )
        executor.shutdown()
        plain.shutdown()
        ray.shutdown()
    report(
        [
            ("benchmark", "measured", "baseline (same run)", "ratio / target"),
            (
                "warm task-mode call, no-op action (events to SQLite)",
                f"{best['hoist'] * 1e3:.3f} ms",
                f"raw ray.get(actor.noop.remote()) {best['raw'] * 1e3:.3f} ms",
                f"{best['hoist'] / best['raw']:.2f}x; target <= 1.15x",
            ),
            (
                "  the same through plain method calls (compiled=False)",
                f"{best['plain'] * 1e3:.3f} ms",
                "",
                f"{best['plain'] / best['raw']:.2f}x",
            ),
        ]
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
