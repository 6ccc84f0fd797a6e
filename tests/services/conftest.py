"""Fixtures for the services' execution tests: pools on the test's real SQLite store,
launches, and waiting for a run to end (on state, never on time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hoist.errors import RunNotFoundError
from hoist.runs.models import Run, RunKind, new_run_id
from hoist.runs.runtime import Runtime
from hoist.services.execution import Execution
from hoist.services.pool import ServicePool
from tests.waiting import wait_until


@pytest.fixture
def make_pool(runtime: Runtime) -> Iterator[Callable[..., ServicePool]]:
    """``make_pool(**options)``: a :class:`ServicePool` on the test's store, closed at
    teardown."""
    pools: list[ServicePool] = []

    def make(**options: Any) -> ServicePool:
        pool = ServicePool(runtime=runtime, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


@pytest.fixture
def pool(make_pool: Callable[..., ServicePool]) -> ServicePool:
    """A pool with the default limits."""
    return make_pool()


def launch(pool: ServicePool, entry: Any, inputs: Any = None) -> str:
    """Start ``entry`` with ``inputs`` on ``pool`` as a new service run; its id."""
    run = Run(id=new_run_id(), kind=RunKind.SERVICE, mode="service")
    pool.start(Execution(run, entry, {} if inputs is None else inputs))
    return run.id


def recorded(runtime: Runtime, run_id: str) -> Run | None:
    """The run as the store has it, or ``None`` before it is written."""
    try:
        return runtime.store.get_run(run_id)
    except RunNotFoundError:
        return None


def ended(runtime: Runtime, run_id: str, timeout: float = 30.0) -> Run:
    """Wait until the store has ``run_id`` in a terminal status; the run."""

    def check() -> Run | None:
        run = recorded(runtime, run_id)
        return run if run is not None and run.status.is_terminal else None

    return wait_until(check, timeout, f"run {run_id} to end")


def events(runtime: Runtime, run_id: str, type: str | None = None) -> list[Any]:
    """The run's events in the store (of one ``type`` when given)."""
    found = runtime.store.events(run_id)
    return [e for e in found if type is None or e.type == type]
