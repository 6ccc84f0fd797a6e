"""Executors: where actions run. One contract (:class:`Executor`), one class per place."""

from hoist.executors.base import Executor, PreparedRun
from hoist.executors.handle import RunHandle
from hoist.executors.job_status import JobStatus
from hoist.executors.local import LocalExecutor
from hoist.executors.modes import EXECUTOR_MODES, executor_class
from hoist.executors.plugin_runner import run_plugin

__all__ = [
    "EXECUTOR_MODES",
    "Executor",
    "JobStatus",
    "LocalExecutor",
    "PreparedRun",
    "RunHandle",
    "executor_class",
    "run_plugin",
]
