"""``JobStatus``: a run's status in the words of the seed's job API (``PENDING``,
``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``STOPPED``), which ``RayJobExecutor.get_status``
answers in. Everywhere else (handles, the store, the API) a status is a
:class:`~hoist.runs.models.RunStatus`."""

from __future__ import annotations

from enum import StrEnum

from hoist.runs.models import RunStatus

__all__ = ["JobStatus"]


class JobStatus(StrEnum):
    """A job's status as the seed's ``RayJobExecutor.get_status(job_id)`` reports it."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        """True once the job has ended."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED)

    @classmethod
    def of(cls, status: RunStatus) -> JobStatus:
        """The job status a run status reads as (a ``lost`` run's job ``FAILED``; a run
        waiting for a person is still ``RUNNING``)."""
        return _FROM_RUN.get(status, JobStatus.RUNNING)


_FROM_RUN = {
    RunStatus.QUEUED: JobStatus.PENDING,
    RunStatus.RUNNING: JobStatus.RUNNING,
    RunStatus.SUCCEEDED: JobStatus.SUCCEEDED,
    RunStatus.FAILED: JobStatus.FAILED,
    RunStatus.CANCELLED: JobStatus.STOPPED,
    RunStatus.LOST: JobStatus.FAILED,
}
