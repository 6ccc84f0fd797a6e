"""RayServicePool: service executions on warm Ray actors of the test's private cluster.

Many executions share one actor (none is created per execution), limits refuse as the
in-process pool's do, a cancel ends a run ``cancelled`` whether it waits or runs, an
actor that dies leaves its runs ``lost`` and is replaced, and a tracer taken into Ray
tasks from the actor reports into the run's log before its end.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import ServiceBusyError
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime
from hoist.services.execution import Execution
from tests.services.conftest import ended as ended_within
from tests.waiting import wait_until

# ---------------------------------------------------------------------- entry points
# Imported by name in the actors (the workers share this checkout's sys.path).


async def where(inputs: dict[str, Any], tracer: Any) -> dict[str, Any]:
    await tracer.markdown(f"hello {inputs['who']}")
    print("printed in the actor")
    return {"pid": os.getpid(), "who": inputs["who"]}


async def wait_forever(inputs: dict[str, Any], tracer: Any) -> None:
    await tracer.markdown("waiting")
    await asyncio.sleep(3600)


def sync_entry(inputs: dict[str, Any]) -> int:
    return int(inputs["n"]) * 2


async def boom(inputs: dict[str, Any]) -> None:
    raise ValueError("no good: 42")


async def die(inputs: dict[str, Any], tracer: Any) -> None:
    await tracer.markdown("about to die")
    gate = Path(inputs["gate"])  # the test opens it once the line is in the store
    await asyncio.to_thread(wait_until, gate.exists, 60, "the test to open the gate")
    os._exit(3)


def report(tracer: Any, i: int) -> int:
    tracer.markdown_sync(f"task {i} says hi")
    tracer.debug_sync(f"task {i} debug")
    return i


async def fan_out(inputs: dict[str, Any], tracer: Any) -> list[int]:
    import ray

    task = ray.remote(report).options(num_cpus=0.1)
    values: list[int] = await asyncio.gather(
        *[task.remote(tracer, i) for i in range(inputs["tasks"])]
    )
    await tracer.markdown("all done")
    return values


# ---------------------------------------------------------------------- fixtures
@pytest.fixture
def pool_factory(ray_cluster: Any, runtime: Runtime) -> Iterator[Any]:
    from hoist.services.ray_pool import RayServicePool

    made: list[RayServicePool] = []

    def make(**options: Any) -> RayServicePool:
        pool = RayServicePool(runtime, address=ray_cluster.address, **options)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.close()


def launch(pool: Any, entry: Any, inputs: dict[str, Any] | None = None) -> str:
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, plugin="svc", mode="service")
    pool.start(Execution(run, entry, inputs or {}, service="svc"))
    pool.sink.flush()  # the driver's queued record is readable
    return run.id


def ended(runtime: Runtime, run_id: str) -> Run:
    return ended_within(runtime, run_id, 60)  # an actor may be starting


def statuses(runtime: Runtime, run_id: str) -> list[str]:
    return [str(e.status) for e in runtime.store.events(run_id) if e.type == "status"]


# ---------------------------------------------------------------------- tests
def test_executions_share_a_warm_actor_in_another_process(
    pool_factory: Any, runtime: Runtime
) -> None:
    pool = pool_factory(actors=1)
    (actor_pid,) = pool.warm()
    ids = [launch(pool, f"{__name__}:where", {"who": n}) for n in ("ann", "bob", "cy")]
    runs = [ended(runtime, run_id) for run_id in ids]
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 3
    assert {r.result["pid"] for r in runs} == {actor_pid} != {os.getpid()}
    assert runs[1].result["who"] == "bob" and runs[1].kind == RunKind.SERVICE
    events = runtime.store.events(ids[0])
    assert statuses(runtime, ids[0]) == ["running", "succeeded"]
    kinds = [(e.type, getattr(e, "body", None) or getattr(e, "message", None)) for e in events]
    assert ("output", "hello ann") in kinds and ("log", "printed in the actor") in kinds
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    wait_until(lambda: pool.active == 0, 30, "the actor to answer for every run")


def test_sync_and_unnamed_entry_points_run_on_the_actor(
    pool_factory: Any, runtime: Runtime
) -> None:
    pool = pool_factory()
    named = launch(pool, f"{__name__}:sync_entry", {"n": 21})

    async def local_entry(inputs: dict[str, Any]) -> str:  # no importable name: pickled
        return f"local {inputs['x']}"

    unnamed = launch(pool, local_entry, {"x": 1})
    assert ended(runtime, named).result == 42
    assert ended(runtime, unnamed).result == "local 1"


def test_a_failing_entry_point_fails_its_run_with_message_and_traceback(
    pool_factory: Any, runtime: Runtime
) -> None:
    pool = pool_factory()
    run = ended(runtime, launch(pool, f"{__name__}:boom"))
    assert run.status == RunStatus.FAILED
    (error,) = [e for e in runtime.store.events(run.id) if e.type == "error"]
    assert error.error_type == "ValueError" and error.message == "no good: 42"
    assert "raise ValueError" in error.traceback


def test_a_full_pool_refuses_and_records_nothing(pool_factory: Any, runtime: Runtime) -> None:
    pool = pool_factory(max_concurrency=1, max_queued=1)
    running = launch(pool, f"{__name__}:wait_forever")
    waiting = launch(pool, f"{__name__}:wait_forever")
    refused = Run(id=new_run_id(), kind=RunKind.SERVICE)
    with pytest.raises(ServiceBusyError) as info:
        pool.start(Execution(refused, f"{__name__}:wait_forever", {}, service="svc"))
    assert info.value.retry_after >= 1
    assert [r.id for r in runtime.store.list_runs()].count(refused.id) == 0
    assert runtime.store.get_run(waiting).status == RunStatus.QUEUED
    for run_id in (running, waiting):
        assert pool.cancel(run_id)
    assert pool.cancel("not-ours") is False


def test_cancel_ends_a_running_or_waiting_run_cancelled(
    pool_factory: Any, runtime: Runtime
) -> None:
    pool = pool_factory(max_concurrency=1)
    running = launch(pool, f"{__name__}:wait_forever")
    waiting = launch(pool, f"{__name__}:wait_forever")
    wait_until(lambda: runtime.store.get_run(running).status == RunStatus.RUNNING, 60, "it to run")
    assert pool.cancel(waiting) and pool.cancel(running)
    assert ended(runtime, running).status == RunStatus.CANCELLED
    assert ended(runtime, waiting).status == RunStatus.CANCELLED
    assert "running" not in statuses(runtime, waiting)  # it never started
    wait_until(lambda: pool.active == 0, 30, "the actor to answer for both")
    # A cancel asked through the store (the server's cancel button) ends it too.
    third = launch(pool, f"{__name__}:wait_forever")
    wait_until(lambda: runtime.store.get_run(third).status == RunStatus.RUNNING, 60, "run")
    runtime.store.request_cancel(third)
    assert ended(runtime, third).status == RunStatus.CANCELLED


def test_an_actor_that_dies_leaves_its_runs_lost_and_is_replaced(
    pool_factory: Any, runtime: Runtime, tmp_path: Path
) -> None:
    pool = pool_factory()
    (first_pid,) = pool.warm()
    bystander = launch(pool, f"{__name__}:wait_forever")
    gate = tmp_path / "die.gate"
    doomed = launch(pool, f"{__name__}:die", {"gate": str(gate)})

    def said_it() -> bool:
        runtime.sink.flush()  # the run this process recorded ``queued`` is committed
        return any(e.type == "output" for e in runtime.store.events(doomed))

    wait_until(said_it, 60, "the doomed run's line to reach the store")
    gate.touch()
    for run_id in (doomed, bystander):
        run = ended(runtime, run_id)
        assert run.status == RunStatus.LOST
        assert "died" in run.error["message"]
    assert any(e.type == "output" for e in runtime.store.events(doomed))  # kept
    after = ended(runtime, launch(pool, f"{__name__}:where", {"who": "next"}))
    assert after.status == RunStatus.SUCCEEDED and after.result["pid"] != first_pid


def test_a_tracer_taken_into_ray_tasks_reports_before_the_end(
    pool_factory: Any, runtime: Runtime
) -> None:
    pool = pool_factory()
    run = ended(runtime, launch(pool, f"{__name__}:fan_out", {"tasks": 3}))
    assert run.status == RunStatus.SUCCEEDED and run.result == [0, 1, 2]
    events = runtime.store.events(run.id)
    lines = sorted(e.body for e in events if e.type == "output")
    assert lines == ["all done"] + [f"task {i} says hi" for i in range(3)]
    debug = [e.message for e in events if e.type == "log" and e.level == "DEBUG"]
    assert sorted(debug) == [f"task {i} debug" for i in range(3)]
    assert events[-1].type == "status" and events[-1].status == RunStatus.SUCCEEDED


def test_a_serve_api_app_launches_on_the_ray_pool(pool_factory: Any, runtime: Runtime) -> None:
    import fastapi

    from hoist.services import Launch, ServeAPI
    from hoist.services import forms as F
    from tests.services.test_app import serving

    pool = pool_factory(actors=2)
    app = ServeAPI(runtime=runtime, executor=pool)

    @app.enter("/", model=F.Model(F.InputText(label="Who", name="who")), summary="Where")
    async def enter(request: fastapi.Request, inputs: dict[str, Any]) -> Any:
        return Launch(request, f"{__name__}:where", inputs=inputs)

    with serving(app) as client:
        answers = [client.post("/", json={"who": n}) for n in ("ann", "bob", "cy", "dee")]
    assert [a.status_code for a in answers] == [202] * 4
    runs = [ended(runtime, a.json()["run_id"]) for a in answers]
    assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
    pids = {r.result["pid"] for r in runs}
    assert len(pids) == 2 and os.getpid() not in pids  # two warm actors share the work
    assert runs[0].meta["service"]["entry_point"] == f"{__name__}:where"


def test_a_pickled_pool_keeps_its_options_and_builds_its_own_actors(pool_factory: Any) -> None:
    import pickle

    pool = pool_factory(actors=2, max_concurrency=3, max_queued=4, name="svc",
                        runtime_env={"env_vars": {"A": "1"}})  # fmt: skip
    pool.warm()
    copy = pickle.loads(pickle.dumps(pool))
    assert (copy.actors, copy.limit, copy.name, copy.runtime_env, copy.address) == (
        2, 7, "svc", {"env_vars": {"A": "1"}}, pool.address,
    )  # fmt: skip
    assert copy.active == 0 and copy._pool == [] and copy._runtime is None


def test_actors_post_to_the_server_when_their_driver_does(
    ray_cluster: Any, hoist_home: Any, tmp_path: Any
) -> None:
    """A driver without the database (a server URL and a worker token) records through
    the server's ingest; so do its actors (given the server and token as secrets)."""
    from hoist.services.ray_pool import RayServicePool
    from hoist.settings import Settings
    from tests.server.conftest import serve, server_settings

    with serve(server_settings(hoist_home)) as live:
        token = live.token("operator", worker=True)
        driver = Runtime(Settings(home=tmp_path / "driver", server_url=live.url), token=token)
        assert driver.remote
        server_side = Runtime(Settings(home=hoist_home))
        pool = RayServicePool(driver, address=ray_cluster.address)
        try:
            run = ended(server_side, launch(pool, f"{__name__}:where", {"who": "far"}))
        finally:
            pool.close()
            driver.close()
        assert run.status == RunStatus.SUCCEEDED and run.result["who"] == "far"
        outputs = [e.body for e in server_side.store.events(run.id) if e.type == "output"]
        assert outputs == ["hello far"]
        server_side.close()


def test_an_entry_point_the_actor_cannot_import_fails_its_run(
    pool_factory: Any, runtime: Runtime, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "driver_only.py").write_text("async def execute(inputs):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # this process imports it; the actor cannot
    pool = pool_factory()
    run = ended(runtime, launch(pool, "driver_only:execute"))
    assert run.status == RunStatus.FAILED
    assert run.error["type"] == "EntryPointError"
    assert "cannot be started on the Ray worker" in run.error["message"]
    assert "driver_only" in run.error["message"]
    after = ended(runtime, launch(pool, f"{__name__}:sync_entry", {"n": 1}))
    assert after.result == 2  # the actor goes on
