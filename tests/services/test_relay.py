"""Tracers pickled into Ray tasks report through the owning process's relay: calls of one
task keep their order, everything a task reported before it returned is in the run's log
before its terminal status, a run that has ended drops late calls, and a process with no
Ray says so."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from typing import Any

import pytest

from hoist.plugins.context import RuntimeContext
from hoist.runs.models import Run, RunKind, RunStatus
from hoist.runs.runtime import Runtime
from hoist.services.tracer import Tracer
from tests.waiting import wait_until


def report_sync(tracer: Any, i: int) -> str:
    """A Ray task reporting through the sync face."""
    for n in range(3):
        tracer.markdown_sync(f"task {i} line {n}")
    tracer.warning_sync(f"task {i} warns")
    return tracer.fid


def report_async(tracer: Any, i: int) -> str:
    """A Ray task reporting through the async face (Ray tasks are sync: a loop inside)."""
    from hoist.services.response import Markdown

    async def report() -> str:
        await tracer.markdown(f"async {i} first")
        await tracer.result(Markdown(body=f"async {i} typed"), {"i": i})
        await tracer.text(f"async {i} last")
        return str(tracer.fid)

    return asyncio.run(report())


def late(tracer: Any, gate: Any) -> None:
    """Reports only after the run has ended (the gate opens)."""
    import ray

    ray.get(gate.wait.remote())
    tracer.markdown_sync("too late")


class Gate:
    def __init__(self) -> None:
        self.opened = asyncio.Event()

    async def wait(self) -> None:
        await self.opened.wait()

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def ray(ray_cluster: Any) -> Any:
    from hoist.executors.ray.connect import ensure_ray

    return ensure_ray(ray_cluster.address)


def _open(runtime: Runtime) -> tuple[Run, RuntimeContext]:
    run = Run(id=f"svc-{id(object())}", kind=RunKind.SERVICE)
    runtime.sink.open_run(run)
    ctx = RuntimeContext(run.id, runtime.sink)
    ctx.emit_status(RunStatus.RUNNING)
    return run, ctx


def _end(runtime: Runtime, ctx: RuntimeContext) -> list[Any]:
    from hoist.services.relay import drain_run

    drain_run(ctx.run_id)
    ctx.emit_status(RunStatus.SUCCEEDED)
    runtime.sink.flush()
    return runtime.store.events(ctx.run_id)


def test_task_calls_arrive_in_order_before_the_terminal_status(ray: Any, runtime: Runtime) -> None:
    _, ctx = _open(runtime)
    tracer = Tracer(ctx)
    sync_task, async_task = ray.remote(report_sync), ray.remote(report_async)
    refs = [sync_task.remote(tracer, i) for i in range(3)] + [async_task.remote(tracer, 9)]
    assert ray.get(refs) == [ctx.run_id] * 4  # fid is the run's id in the task too
    events = _end(runtime, ctx)
    assert events[-1].type == "status" and events[-1].status == RunStatus.SUCCEEDED
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # gap-free
    texts = [e.body if e.type == "output" else e.message for e in events if e.type != "status"]
    for i in range(3):
        mine = [t for t in texts if str(t).startswith(f"task {i} ")]
        assert mine == [f"task {i} line 0", f"task {i} line 1", f"task {i} line 2",
                        f"task {i} warns"]  # fmt: skip
    outputs = [e for e in events if e.type == "output" and "async" in str(e.body)]
    assert [(o.format, o.body, o.model) for o in outputs] == [
        ("markdown", "async 9 first", "Markdown"),
        ("markdown", "async 9 typed", "Markdown"),
        ("text", "async 9 last", "Text"),
    ]
    (data,) = [e for e in events if e.type == "output" and e.format == "json"]
    assert data.body == {"i": 9}
    (warning,) = [e for e in events if e.type == "log" and e.message == "task 0 warns"]
    assert warning.level == "WARNING"


def test_calls_after_the_run_ended_are_dropped_and_logged_once(
    ray: Any, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    _, ctx = _open(runtime)
    gate = ray.remote(Gate).options(num_cpus=0).remote()
    straggler = ray.remote(late).options(num_cpus=0.1).remote(Tracer(ctx), gate)
    before = _end(runtime, ctx)
    with caplog.at_level(logging.WARNING, logger="hoist.services.relay"):
        ray.get(gate.open.remote())
        ray.get(straggler)  # its call reached the relay; the owner drops it
        wait_until(lambda: "has ended" in caplog.text, 10, "the drop to be logged")
    runtime.sink.flush()
    assert runtime.store.events(ctx.run_id) == before
    assert caplog.text.count("has ended") == 1


def test_a_task_passes_the_tracer_on(ray: Any, runtime: Runtime) -> None:
    _, ctx = _open(runtime)

    def outer(tracer: Any) -> str:
        import ray as inner_ray

        tracer.markdown_sync("outer")
        return str(inner_ray.get(inner_ray.remote(report_sync).remote(tracer, 7)))

    assert ray.get(ray.remote(outer).options(num_cpus=0.1).remote(Tracer(ctx))) == ctx.run_id
    texts = [e.summary() for e in _end(runtime, ctx) if e.type == "output"]
    assert texts[0] == "outer" and "task 7 line 2" in texts


NO_RAY = """
import pickle
from hoist.executors.ray.connect import RayUnavailableError
from hoist.runs.models import Run
from hoist.runs.sinks.memory import MemorySink
from hoist.plugins.context import RuntimeContext
from hoist.services.relay import _rebuild, drain_run
from hoist.services.tracer import Tracer
import sys

sink = MemorySink()
sink.open_run(Run(id="r1"))
tracer = Tracer(RuntimeContext("r1", sink))
tracer.markdown_sync("local")
drain_run("r1")  # never pickled: nothing to wait for
assert "ray" not in sys.modules, "a local run touched Ray"
for attempt in (lambda: pickle.dumps(tracer), lambda: _rebuild("r1", b"")):
    try:
        attempt()
    except RayUnavailableError as exc:
        print(exc)
"""


def test_without_ray_a_tracer_stays_local_and_pickling_it_is_a_clear_error() -> None:
    """In a process of its own: this one may be connected to Ray already."""
    proc = subprocess.run([sys.executable, "-c", NO_RAY], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    pickled, used = proc.stdout.splitlines()
    assert "cannot pickle the tracer of run r1" in pickled and "not connected to Ray" in pickled
    assert "cannot use the tracer of run r1 here" in used
