"""Pieces of job mode kept apart from the executor: the stand-in for an action the
driver does not import, the run fields a job carries, and following a job's output."""

from __future__ import annotations

import queue
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from hoist.plugins.action import AnyParams, BaseAction
from hoist.runs.models import Run

__all__ = ["OnTheWorker", "run_fields", "tail_job_logs"]


class OnTheWorker(BaseAction[AnyParams]):
    """Stands, on the driver, for a job's action that only its worker imports."""

    def execute(self) -> Any:  # pragma: no cover - never runs on the driver
        raise RuntimeError("a job's action runs on its worker, not on the driver")


def run_fields(run: Run) -> dict[str, Any]:
    """The fields of a run record that a job needs to record the same run."""
    return {
        "id": run.id, "kind": run.kind, "parent_id": run.parent_id, "plugin": run.plugin,
        "action": run.action, "mode": run.mode, "params": run.params, "meta": run.meta,
        "created_at": run.created_at,
    }  # fmt: skip


def tail_job_logs(client: Any, job_id: str) -> Iterator[str]:
    """A Ray job's output as it comes, until the job ends (Ray's async tail, driven on a
    thread of its own so that callers iterate plainly)."""
    chunks: queue.Queue[str | BaseException | None] = queue.Queue()

    def pump() -> None:
        import asyncio

        async def tail() -> None:
            async for chunk in client.tail_job_logs(job_id):
                chunks.put(chunk)

        try:
            with warnings.catch_warnings():  # Ray's own aiohttp call warns
                warnings.simplefilter("ignore", DeprecationWarning)
                asyncio.run(tail())
        except BaseException as exc:
            chunks.put(exc)
        chunks.put(None)

    threading.Thread(target=pump, name=f"hoist-job-logs-{job_id}", daemon=True).start()
    while (chunk := chunks.get()) is not None:
        if isinstance(chunk, BaseException):
            raise chunk
        yield chunk
