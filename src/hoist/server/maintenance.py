"""The server's upkeep of the run store: at start-up, then every
``settings.maintenance_interval`` seconds, whether or not anyone looks.

A run must never outlive its owner unnoticed. Each sweep

- marks ``lost`` the running runs whose worker stopped heartbeating them
  (:meth:`~hoist.runs.store.RunStore.reap_stale`);
- ends the queued runs whose server died before starting them: ``failed``, or
  ``cancelled`` when their cancel was asked (:meth:`~hoist.runs.store.RunStore.reap_orphans`);
- drops from this server's own queue the runs whose cancel was asked through the store
  (e.g. through another server sharing it).

Several servers sharing one store all sweep it; each run is ended by one of them only
(the store claims it with a conditional UPDATE).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import anyio.to_thread

from hoist.runs.store import RunStore
from hoist.server.launcher import Launcher

__all__ = ["Maintenance", "Sweep"]

_log = logging.getLogger("hoist.server")


@dataclass(frozen=True)
class Sweep:
    """What one sweep ended: runs ``lost``, queued runs of dead servers, and runs of
    this server's queue whose cancel was asked elsewhere."""

    lost: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


class Maintenance:
    """Sweeps the store periodically (an asyncio task of the app's lifespan).

    Args:
        store: the run store.
        launcher: this server's launcher (its own queue).
        interval: seconds between sweeps.
        stale_after: seconds without a heartbeat after which a run's worker or owner is
            taken to be dead.
    """

    def __init__(
        self, store: RunStore, launcher: Launcher, *, interval: float, stale_after: float
    ) -> None:
        self.store = store
        self.launcher = launcher
        self.interval = interval
        self.stale_after = stale_after
        self.sweeps = 0
        """Sweeps done so far (successful or not)."""
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def sweep(self) -> Sweep:
        """One sweep, now (blocking: store I/O)."""
        return Sweep(
            lost=self.store.reap_stale(self.stale_after),
            orphaned=self.store.reap_orphans(self.stale_after),
            cancelled=self.launcher.apply_cancel_requests(),
        )

    def start(self) -> None:
        """Start sweeping (the first sweep at once) on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hoist-sweep")

    async def stop(self) -> None:
        """Stop sweeping; waits for a sweep in progress."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                done = await anyio.to_thread.run_sync(self.sweep)
            except Exception as exc:  # the store may be down for a while: retry later
                if not self._failing:
                    self._failing = True
                    _log.warning("store sweep failed, will retry: %s", exc)
            else:
                if self._failing:
                    self._failing = False
                    _log.info("store sweeps work again")
                if done.lost or done.orphaned or done.cancelled:
                    _log.info(
                        "store sweep: %d runs lost, %d queued runs of stopped servers "
                        "ended, %d queued runs cancelled",
                        len(done.lost), len(done.orphaned), len(done.cancelled),
                    )  # fmt: skip
            finally:
                self.sweeps += 1
            await asyncio.sleep(self.interval)
