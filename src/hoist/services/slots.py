"""An execution admitted to a :class:`~hoist.services.pool.ServicePool` (its
:class:`Slot`), the pool's running slots it takes (:class:`RunningSlots`) and the call
of its entry point in one.

At most ``max_concurrency`` executions hold a running slot at once. An async execution
waiting for a person (``tracer.lock``) is *parked*: it gives its slot back, so a run
awaiting an answer for hours never keeps another from running, and takes one again
before it goes on. A sync one keeps its slot: its thread is blocked either way.

Both pools (in-process and on Ray actors) start every execution here, so this is where
a launch's uploads (the run's ``in/``) are published to the run's Hoist server, when it
records through one (``ctx.client``): as the execution starts, while the run is live,
before the entry point is called (off the loop for an async one); see
:meth:`~hoist.services.files.RunFiles.publish`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hoist.plugins.awaitables import resolve
from hoist.plugins.context import RuntimeContext
from hoist.plugins.invoke import Outcome, recorded
from hoist.services import capture
from hoist.services.entry import EntryPoint
from hoist.services.gate import RunGate
from hoist.services.response import output_of
from hoist.services.tracer import Tracer
from hoist.services.uploads import IN_DIR

__all__ = ["RunningSlots", "Slot", "run_async", "run_sync"]


class Slot:
    """One admitted execution: queued, then running, until its task ends.

    Attributes:
        entry: the entry point it calls.
        inputs: what it is called with.
        ctx: its run's context.
        gate: the gate its events pass through (closed once the run ended).
        task: its task on the pool's loop, once scheduled.
        sync_running: a sync entry point runs on a pool thread (it cannot park).
        holding: it holds one of the pool's running slots.
    """

    __slots__ = ("ctx", "entry", "gate", "holding", "inputs", "sync_running", "task")

    def __init__(self, entry: EntryPoint, inputs: Any, ctx: RuntimeContext, gate: RunGate) -> None:
        self.entry = entry
        self.inputs = inputs
        self.ctx = ctx
        self.gate = gate
        self.task: asyncio.Task[None] | None = None
        self.sync_running = False
        self.holding = False


class RunningSlots:
    """The pool's ``limit`` running slots (made on the pool's loop, used only there)."""

    def __init__(self, limit: int) -> None:
        self._semaphore = asyncio.Semaphore(limit)

    async def take(self, slot: Slot) -> None:
        """Wait for a free running slot and give it to ``slot``."""
        await self._semaphore.acquire()
        slot.holding = True

    def give_back(self, slot: Slot) -> None:
        """Free ``slot``'s running slot, if it holds one."""
        if slot.holding:
            slot.holding = False
            self._semaphore.release()

    @asynccontextmanager
    async def parked(self, slot: Slot) -> AsyncIterator[None]:
        """While an async execution waits for a person, its running slot is free for
        another; it takes one back before it goes on (not when the wait ends in error:
        the run ends then)."""
        if not slot.holding or slot.sync_running:
            yield
            return
        self.give_back(slot)
        yield
        await self.take(slot)


async def run_async(slot: Slot, captured: capture.Capture) -> None:
    """Call ``slot``'s async entry point on the pool's loop and record how it ended."""
    with recorded(slot.ctx) as outcome:
        try:
            tracer = Tracer(slot.ctx)
            if _has_inputs(slot):
                await asyncio.to_thread(lambda: tracer.fs_sync().publish(IN_DIR))
            value = await slot.entry.call(slot.inputs, tracer)
        finally:
            captured.flush()
            relay = _relay_of(slot)
            if relay is not None:
                await relay.drain_run_async(slot.ctx.run_id)
        _set_outcome(outcome, value)


def run_sync(slot: Slot, captured: capture.Capture) -> None:
    """Call ``slot``'s sync entry point, on a pool thread inside a copy of the
    execution's context, and record how it ended."""
    if slot.gate.ended:
        return
    with recorded(slot.ctx) as outcome:
        try:
            tracer = Tracer(slot.ctx)
            if _has_inputs(slot):
                tracer.fs_sync().publish(IN_DIR)
            value = resolve(slot.entry.call(slot.inputs, tracer))
        finally:
            captured.flush()
            relay = _relay_of(slot)
            if relay is not None:
                relay.drain_run(slot.ctx.run_id)
        _set_outcome(outcome, value)


def _has_inputs(slot: Slot) -> bool:
    """Whether the execution's run has an ``in/`` folder (the launch's uploads): one
    stat; the run's server client is only built when there is something to publish."""
    runs_dir = getattr(slot.ctx, "runs_dir", None)
    return runs_dir is not None and (runs_dir / slot.ctx.run_id / IN_DIR).is_dir()


def _relay_of(slot: Slot) -> Any:
    """The tracer relay, when the execution's run may have calls from Ray tasks waiting
    there (to be replayed before the run ends). A tracer joins the relay when it is
    pickled, which imports the relay's module: not imported, nothing to wait for."""
    relay = sys.modules.get("hoist.services.relay")
    return None if relay is None or slot.gate.ended else relay


def _set_outcome(outcome: Outcome, value: Any) -> None:
    """Record ``value`` as the result with its type (the panel renders a ``Markdown``,
    ``HTML`` or ``Text`` result as it renders outputs)."""
    _format, body, model = output_of(value)
    outcome.set(body, model)
