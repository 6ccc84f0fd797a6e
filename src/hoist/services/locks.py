"""Human in the loop: a service's run asks a person and waits for the answer::

    @app.lock("review")
    def review_form(data):
        return F.Model(F.InputArea("text", "Draft", value=data["draft"]), F.Submit("OK"))

    @app.lease("review")
    def check(inputs):
        if not inputs["text"].strip():
            raise InputsError(text="Say something")
        return inputs

    answer = await tracer.lock("review", data={"draft": draft}, timeout=3600)

The lock's form is built and its answers validated on the execution side, where the
run's context lives: :class:`LockHandlers` (the app's ``@app.lock``/``@app.lease``
functions) travel with each :class:`~hoist.services.execution.Execution`. A lock is a
``lock`` event (``open``, then ``answered``, ``expired`` or ``cancelled``) plus the run's
``awaiting`` status, so every view sees the whole conversation.

An executor keeps the open locks of its runs on a :class:`LockBoard`, which answers
(:meth:`LockBoard.answer`: the form's validation, then the lease; an ``InputsError``
keeps the lock open) and wakes the waiting run. An async entry point waits on a future
of its pool's loop, holding no thread (and, parked, no running slot); a sync one blocks
its thread.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from hoist import forms as F
from hoist.errors import (
    LockExpiredError,
    LockNotFoundError,
    ParamsValidationError,
    RunCancelledError,
    field_errors_from_pydantic,
)
from hoist.forms.errors import GLOBAL
from hoist.plugins.awaitables import resolve
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import RunStatus
from hoist.services.forms_io import elements_json, form_of, masked_inputs

__all__ = ["LOCKS_EXTRA", "LockAnswer", "LockBoard", "LockHandlers", "RunLocks"]

_log = logging.getLogger("hoist.services")

LOCKS_EXTRA = "hoist_locks"
"""The key of a run context's ``extras`` holding its :class:`RunLocks`."""

_ids = itertools.count(1)
_PREFIX = os.urandom(3).hex()


@dataclass(slots=True)
class LockAnswer:
    """What answering a lock did.

    Attributes:
        status: ``answered`` (the run goes on with the answer), ``errors`` (invalid:
            the lock stays open), ``gone`` (no such open lock: unknown, answered,
            expired or cancelled) or ``failed`` (the service's form or lease raised
            something else than ``InputsError``, a bug: the lock stays open).
        errors: ``{field: [messages]}`` when invalid (``_global_``: the whole form).
        elements: the lock's form elements (JSON), to show the errors next to fields.
        detail: why it is gone, or the failure's message.
        error_type: the failure's exception type (``failed``).
    """

    status: Literal["answered", "errors", "gone", "failed"]
    errors: dict[str, list[str]] = field(default_factory=dict)
    elements: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""
    error_type: str = ""


class LockHandlers:
    """An app's lock forms (``@app.lock(name)``) and leases (``@app.lease(name)``), by
    lock name. Pickled with an execution: its functions go by reference."""

    def __init__(self) -> None:
        self.forms: dict[str, Callable[..., Any]] = {}
        self.leases: dict[str, Callable[..., Any]] = {}

    def build(self, name: str, data: Any) -> Any:
        """Call the form of lock ``name`` with ``data`` (its result may be awaitable).

        Raises:
            LockNotFoundError: no ``@app.lock(name)`` was declared.
        """
        builder = self.forms.get(name)
        if builder is None:
            raise LockNotFoundError(name, self.forms, where="this service (@app.lock)")
        return builder(data) if _arity(builder) else builder()

    def lease(self, name: str, inputs: dict[str, Any], data: Any, user: str | None) -> Any:
        """Call the lease of lock ``name`` (none: the inputs as they are); its result
        (maybe awaitable) is the answer, or ``None`` to keep ``inputs``."""
        lease = self.leases.get(name)
        if lease is None:
            return inputs
        params = inspect.signature(lease).parameters
        extra = {k: v for k, v in (("data", data), ("user", user)) if k in params}
        return lease(inputs, **extra)


def _arity(func: Callable[..., Any]) -> int:
    return len(inspect.signature(func).parameters)


def lock_form(built: Any) -> F.Model:
    """A lock's form from what its ``@app.lock`` function returned: a form, a pydantic
    model class, or a list of elements."""
    if isinstance(built, list | tuple):
        return F.Model(*built)
    return form_of(built)


class _Lock:
    """One open lock of a run, until it is answered, expires or is cancelled."""

    __slots__ = ("data", "elements", "expires_at", "form", "lock_id", "mutex", "name",
                 "phase", "run", "wake")  # fmt: skip

    def __init__(self, run: RunLocks, name: str, data: Any, form: F.Model,
                 expires_at: float | None, wake: Callable[[Any], None]) -> None:  # fmt: skip
        self.lock_id = f"{_PREFIX}{next(_ids):06x}"
        self.run, self.name, self.data, self.form = run, name, data, form
        self.elements = elements_json(form)
        self.expires_at = expires_at
        self.wake = wake
        self.phase = "open"
        self.mutex = threading.Lock()

    def close(self, phase: str, **fields: Any) -> bool:
        """Move from ``open`` to ``phase`` and record it; whether this call did. (Recorded
        outside the mutex: a cancel records its locks' end holding the run's gate.)"""
        with self.mutex:
            if self.phase != "open":
                return False
            self.phase = phase
        ctx = self.run.ctx
        ctx.emit_lock(self.lock_id, self.name, phase, **fields)
        if phase == "answered":
            ctx.emit_status(RunStatus.RUNNING)
        return True


class LockBoard:
    """The open locks of an executor's runs: describes them, answers them, cancels
    them with their run. Thread-safe."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], _Lock] = {}
        self._mutex = threading.Lock()

    def add(self, lock: _Lock) -> None:
        with self._mutex:
            self._locks[(lock.run.ctx.run_id, lock.lock_id)] = lock

    def remove(self, lock: _Lock) -> None:
        with self._mutex:
            self._locks.pop((lock.run.ctx.run_id, lock.lock_id), None)

    def _of_run(self, run_id: str) -> list[_Lock]:
        with self._mutex:
            return [lock for (rid, _), lock in self._locks.items() if rid == run_id]

    def view(self, run_id: str, lock_id: str) -> dict[str, Any] | None:
        """The open lock as the person is shown it (``None``: no such open lock):
        ``lock_id``, ``name``, ``phase``, ``data``, ``elements``, ``expires_at`` and
        ``run_user`` (who launched the run, who may answer it)."""
        with self._mutex:
            lock = self._locks.get((run_id, lock_id))
        if lock is None or lock.phase != "open":
            return None
        return {
            "run_id": run_id, "lock_id": lock.lock_id, "name": lock.name,
            "phase": lock.phase, "data": lock.data, "elements": lock.elements,
            "expires_at": lock.expires_at, "run_user": lock.run.user,
        }  # fmt: skip

    def answer(self, run_id: str, lock_id: str, values: Any, user: str | None) -> LockAnswer:
        """Validate ``values`` with the lock's form (coerced as an enter post's inputs)
        and its lease, then wake the run with them. Call it off the pool's loop.

        Returns:
            ``answered``; ``errors`` (the lock stays open); ``gone``; ``failed`` when
            the lease raised anything else (logged; the lock stays open): the same on
            every executor, as the answer, not an exception, travels back from a Ray
            actor.
        """
        with self._mutex:
            lock = self._locks.get((run_id, lock_id))
        if lock is None or lock.phase != "open":
            return LockAnswer("gone", detail=f"run {run_id} has no open lock {lock_id}")
        if not isinstance(values, Mapping):
            errors = {GLOBAL: ["the answer must be an object of values"]}
            return LockAnswer("errors", errors, lock.elements)
        try:
            valid = lock.form.validate(values)
            leased = resolve(lock.run.handlers.lease(lock.name, valid, lock.data, user))
        except ParamsValidationError as exc:
            return LockAnswer("errors", dict(exc.field_errors), lock.elements)
        except ValidationError as exc:
            return LockAnswer("errors", field_errors_from_pydantic(exc.errors()), lock.elements)
        except Exception as exc:  # a bug in the service's lease: said, the run waits on
            _log.exception("run %s: the lease of lock %r failed", run_id, lock.name)
            return LockAnswer("failed", elements=lock.elements, detail=str(exc),
                              error_type=type(exc).__name__)  # fmt: skip
        answer = valid if leased is None else leased
        if not lock.close("answered", answer=_masked(answer, lock.form), user=user):
            return LockAnswer("gone", detail=f"lock {lock_id} was {lock.phase} meanwhile")
        lock.wake(answer)
        return LockAnswer("answered")

    def cancel_run(self, run_id: str) -> None:
        """The run is being cancelled: its open locks end ``cancelled`` (recorded before
        the run's own end) and their waits raise ``RunCancelledError``."""
        for lock in self._of_run(run_id):
            if lock.close("cancelled"):
                lock.wake(_CANCELLED)

    def forget(self, run_id: str) -> None:
        """Drop what is left of an ended run."""
        for lock in self._of_run(run_id):
            self.remove(lock)


_CANCELLED = object()


def _masked(answer: Any, form: F.Model) -> dict[str, Any]:
    return masked_inputs(answer, form)


_Park = Callable[[], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _not_parked() -> AsyncIterator[None]:
    yield


class RunLocks:
    """One run's way to ask a person (what ``tracer.lock`` calls).

    Args:
        ctx: the run's context.
        handlers: the app's lock forms and leases.
        board: the executor's open locks.
        user: who launched the run (``meta["user"]``), who may answer.
        park: an async context manager that frees the run's running slot while it
            waits (an async entry point's), taken back before it goes on.
    """

    def __init__(self, ctx: RuntimeContext, handlers: LockHandlers | None, board: LockBoard,
                 user: str | None = None, park: _Park | None = None) -> None:  # fmt: skip
        self.ctx = ctx
        self.handlers = handlers or LockHandlers()
        self.board = board
        self.user = user
        self.park = park or _not_parked

    def _open(self, name: str, data: Any, form: F.Model, timeout: float | None,
              wake: Callable[[Any], None]) -> _Lock:  # fmt: skip
        if timeout is not None and timeout <= 0:
            raise ValueError(f"a lock's timeout must be > 0 seconds, got {timeout!r}")
        self.ctx.check_cancelled()
        expires = None if timeout is None else time.time() + timeout
        lock = _Lock(self, name, data, form, expires, wake)
        self.ctx.emit_lock(lock.lock_id, name, "open", data=data, elements=lock.elements,
                           expires_at=expires)  # fmt: skip
        self.ctx.emit_status(RunStatus.AWAITING)
        self.board.add(lock)  # answerable from now on (its open event is recorded)
        if self.ctx.is_cancelled() and lock.close("cancelled"):  # the cancel missed it
            wake(_CANCELLED)
        return lock

    def _expire(self, lock: _Lock, timeout: float) -> None:
        """The wait timed out: the lock ends ``expired`` (raising), unless an answer or
        a cancel closed it first (then its wake is on its way)."""
        if lock.close("expired"):
            raise LockExpiredError(self.ctx.run_id, lock.name, timeout)

    def _outcome(self, value: Any) -> dict[str, Any]:
        if value is _CANCELLED:
            raise RunCancelledError(self.ctx.run_id)
        answer: dict[str, Any] = value
        return answer

    async def lock(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        """Ask (async): see :meth:`~hoist.services.tracer.Tracer.lock`."""
        form = lock_form(await _awaited(self.handlers.build(name, data)))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def wake(value: Any) -> None:
            loop.call_soon_threadsafe(_settle, future, value)

        lock = self._open(name, data, form, timeout, wake)
        try:
            async with self.park():
                try:
                    value = await asyncio.wait_for(asyncio.shield(future), timeout)
                except TimeoutError:
                    self._expire(lock, float(timeout or 0))
                    value = await future
        finally:
            self.board.remove(lock)
        return self._outcome(value)

    def lock_sync(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        """Ask (blocking this thread): see :meth:`~hoist.services.tracer.Tracer.lock_sync`.

        Raises:
            RuntimeError: called on a thread that runs an event loop (await
                ``tracer.lock`` there: blocking would stop the loop).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("tracer.lock_sync blocks: in async code, await tracer.lock(...)")
        form = lock_form(resolve(self.handlers.build(name, data)))
        woken = threading.Event()
        box: list[Any] = []

        def wake(value: Any) -> None:
            box.append(value)
            woken.set()

        lock = self._open(name, data, form, timeout, wake)
        try:
            if not woken.wait(timeout):
                self._expire(lock, float(timeout or 0))
                woken.wait()
        finally:
            self.board.remove(lock)
        return self._outcome(box[0])


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
