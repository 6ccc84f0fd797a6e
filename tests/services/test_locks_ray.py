"""Human in the loop on the warm Ray pool: the lock's form and lease travel with the
execution (by reference) and run in the actor; an answer given to the driver's pool is
forwarded to the actor that owns the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime
from hoist.services.execution import Execution
from tests.services.conftest import ended, events
from tests.services.test_locks import ask_twice, handlers, open_lock


@pytest.fixture
def ray_pool(ray_cluster: Any, runtime: Runtime) -> Iterator[Any]:
    from hoist.services.ray_pool import RayServicePool

    pool = RayServicePool(runtime, address=ray_cluster.address)
    yield pool
    pool.close()


def test_a_lock_on_the_ray_pool_is_answered_through_the_driver(
    ray_pool: Any, runtime: Runtime
) -> None:
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service", meta={"user": "ann"})
    ray_pool.start(Execution(run, ask_twice, {"draft": "ray"}, locks=handlers()))
    lock_id = open_lock(runtime, run.id)
    view = ray_pool.lock_view(run.id, lock_id)
    assert view is not None and view["data"] == {"draft": "ray"} and view["run_user"] == "ann"
    refused = ray_pool.answer(run.id, lock_id, {"text": "LOUD"}, "ann")
    assert refused.status == "errors" and refused.errors == {"text": ["no shouting"]}
    assert ray_pool.answer(run.id, lock_id, {"text": "calm"}, "ann").status == "answered"
    assert ray_pool.answer(run.id, lock_id, {"text": "calm"}, "ann").status == "gone"
    second = open_lock(runtime, run.id, 2)
    assert ray_pool.answer(run.id, second, {"text": "done"}, "bob").status == "answered"
    ended_run = ended(runtime, run.id, 60)
    assert ended_run.status is RunStatus.SUCCEEDED
    assert ended_run.result["second"] == {"text": "done", "by": "bob"}
    assert ray_pool.answer("unknown", "x", {}, None).status == "gone"


def test_cancel_while_awaiting_on_the_ray_pool(ray_pool: Any, runtime: Runtime) -> None:
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service")
    ray_pool.start(Execution(run, ask_twice, {"draft": "c"}, locks=handlers()))
    lock_id = open_lock(runtime, run.id)
    assert ray_pool.cancel(run.id)
    assert ended(runtime, run.id, 60).status is RunStatus.CANCELLED
    assert [e.phase for e in events(runtime, run.id, "lock")] == ["open", "cancelled"]
    assert ray_pool.answer(run.id, lock_id, {"text": "late"}, None).status == "gone"
