"""Pieces of job mode kept apart from the executor: the Jobs API client, the stand-in
for an action the driver does not import, the run fields and params a job carries, and
following a job's output."""

from __future__ import annotations

import queue
import threading
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from hoist.executors.ray.connect import RayUnavailableError, ensure_ray
from hoist.plugins.action import AnyParams, BaseAction
from hoist.plugins.invoke import SECRET_MASK, jsonable
from hoist.runs.models import Run

__all__ = [
    "OnTheWorker",
    "given_params",
    "jobs_api_client",
    "run_fields",
    "tail_job_logs",
    "withheld_params",
]


class OnTheWorker(BaseAction[AnyParams]):
    """Stands, on the driver, for a job's action that only its worker imports."""

    def execute(self) -> Any:  # pragma: no cover - never runs on the driver
        raise RuntimeError("a job's action runs on its worker, not on the driver")


def jobs_api_client(address: str | None, ray_num_cpus: int) -> Any:
    """A Ray ``JobSubmissionClient`` for ``address``: a dashboard URL as is; a GCS
    address (or ``None``, a private local Ray) through the dashboard it runs.

    Raises:
        RayUnavailableError: no cluster, no dashboard, or a Jobs API that does not answer.
    """
    if address is None or "://" not in address:
        ensure_ray(address, num_cpus=ray_num_cpus)
        from ray._private.worker import get_dashboard_url

        dashboard = get_dashboard_url()  # type: ignore[no-untyped-call]
        if not dashboard:
            raise RayUnavailableError(
                f"the Ray cluster at {address or 'this machine'} runs no dashboard, "
                "which serves the Jobs API: start its head with --include-dashboard=true"
            )
        address = dashboard if "://" in dashboard else f"http://{dashboard}"
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except Exception as exc:
        message = f"the Ray Jobs API at {address} does not answer: {exc}"
        raise RayUnavailableError(message) from None


def run_fields(run: Run) -> dict[str, Any]:
    """The fields of a run record that a job needs to record the same run."""
    return {
        "id": run.id, "kind": run.kind, "parent_id": run.parent_id, "plugin": run.plugin,
        "action": run.action, "mode": run.mode, "params": run.params, "meta": run.meta,
        "created_at": run.created_at,
    }  # fmt: skip


def withheld_params(params: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    """What a job's run records of the params it was given until its worker has
    validated them: every value masked (the driver, which does not import the action,
    cannot tell which are secret), the names kept; ``None`` stays ``None``."""
    data = params.model_dump(mode="json") if isinstance(params, BaseModel) else params
    return {str(key): None if value is None else SECRET_MASK
            for key, value in (data or {}).items()}  # fmt: skip


def given_params(params: BaseModel | Mapping[str, Any] | None) -> BaseModel:
    """The params a job was given, kept for its worker only: a model as is; a mapping
    as JSON data, a ``SecretStr``/``SecretBytes`` value revealed. The worker gets them
    through :func:`~hoist.plugins.invoke.worker_params`, in the job's secrets file."""
    if isinstance(params, BaseModel):
        return params
    return AnyParams.model_validate({str(k): _revealed(v) for k, v in (params or {}).items()})


def _revealed(value: Any) -> Any:
    from pydantic import SecretBytes, SecretStr

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, SecretBytes):
        return value.get_secret_value().decode("utf-8", "replace")
    return jsonable(value)


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
