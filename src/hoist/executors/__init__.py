"""Executors: where actions run. One contract (:class:`Executor`), one class per place."""

from hoist.executors.base import Executor, PreparedRun
from hoist.executors.handle import RunHandle
from hoist.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "PreparedRun", "RunHandle"]
