"""Human in the loop at scale: 1,000 service executions awaiting a person at once
(``await tracer.lock``) on one in-process pool, against the same number of bare
asyncio tasks awaiting an event (the baseline, measured in the same run).

Prints the memory they hold in total (target ≤ 200 MB), the threads they add (target:
none per execution) and the time to answer them all through ``ServicePool.answer``.

    .venv/bin/python benchmarks/bench_locks.py
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import tempfile
import threading
import time
from typing import Any

from _util import report  # type: ignore[import-not-found]

os.environ["HOIST_HOME"] = tempfile.mkdtemp(prefix="hoist-bench-locks-")

from hoist import forms as F
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import get_runtime
from hoist.services.execution import Execution
from hoist.services.locks import LockHandlers
from hoist.services.pool import ServicePool

AWAITING = 1000


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


async def review(inputs: dict[str, Any], tracer: Any) -> Any:
    return await tracer.lock("review", data={"draft": inputs["draft"]})


def handlers() -> LockHandlers:
    found = LockHandlers()
    found.forms["review"] = lambda data: F.Model(
        F.InputArea("text", "Text", value=data["draft"]), F.Submit("OK")
    )
    return found


def _wait(what: str, check: Any, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def awaiting() -> tuple[float, int, float]:
    """MB and threads 1,000 awaiting executions add, and seconds to answer them all."""
    runtime = get_runtime()
    store = runtime.store
    pool = ServicePool(max_concurrency=32, max_queued=AWAITING, name="bench-locks")
    gc.collect()
    threads, before = threading.active_count(), _rss_mb()
    locks = handlers()
    ids = []
    for i in range(AWAITING):
        run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service")
        pool.start(Execution(run, review, {"draft": f"draft {i}"}, locks=locks))
        ids.append(run.id)

    def all_awaiting() -> bool:
        runtime.sink.flush()
        runs = store.runs_by_ids(ids)
        return sum(r.status is RunStatus.AWAITING for r in runs) == AWAITING

    _wait("every execution awaiting", all_awaiting)
    used, added = _rss_mb() - before, threading.active_count() - threads
    start = time.perf_counter()
    for run_id in ids:
        lock_id = next(e.lock_id for e in store.events(run_id) if e.type == "lock")
        assert pool.answer(run_id, lock_id, {"text": "ok"}, None).status == "answered"
    _wait("every execution ended", lambda: pool.active == 0)
    took = time.perf_counter() - start
    pool.close()
    return used, added, took


def bare() -> float:
    """MB that 1,000 bare asyncio tasks awaiting an event hold."""

    async def run() -> float:
        event = asyncio.Event()
        gc.collect()
        start = _rss_mb()
        tasks = [asyncio.create_task(event.wait()) for _ in range(AWAITING)]
        await asyncio.sleep(0.1)
        used = _rss_mb() - start
        event.set()
        await asyncio.gather(*tasks)
        return used

    return asyncio.run(run())


def main() -> None:
    baseline = bare()  # first: freed memory from the pool's run would hide the tasks' own
    used, added, took = awaiting()
    report([
        ("what", "measured", "baseline", "ratio / target"),
        (f"{AWAITING} executions awaiting a person: memory", f"{used:.1f} MB",
         f"{baseline:.1f} MB {AWAITING} bare asyncio tasks",
         f"{used / max(baseline, 0.01):.0f}x / ≤ 200 MB"),
        (f"{AWAITING} executions awaiting: threads added", str(added), "0",
         "none per execution"),
        (f"answering all {AWAITING} (validated, woken, ended)", f"{took:.2f} s",
         f"{took / AWAITING * 1e3:.2f} ms each", "-"),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
