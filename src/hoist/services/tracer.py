"""The ``Tracer`` an entry point reports through, as kodosumi's entry points do:
``await tracer.markdown(...)`` or, from sync code and Ray tasks, ``tracer.markdown_sync(...)``.

A tracer is a thin face over its run's :class:`~hoist.plugins.context.RuntimeContext`:
every call is an event in the run's log (markdown, html, text, result and action calls
are ``output`` events; debug and warning are log lines), so the CLI, the API, the SSE
stream and the panel all show it. Emitting is a queue append, so the async methods never
block the loop; they exist so that code written for kodosumi runs unchanged. (A run
whose tracer went into Ray tasks first waits for the calls those tasks made, so they
are logged before this one: see :func:`~hoist.services.relay.settle_run`; the async
methods wait on a thread.)

:class:`TracerMock` records the calls instead, to test an entry point without a server.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from hoist.errors import LockNotFoundError
from hoist.services.files import AsyncRunFiles, RunFiles
from hoist.services.locks import LOCKS_EXTRA
from hoist.services.response import HTML, Markdown, Text, output_of

__all__ = ["Tracer", "TracerMock"]

_NO_FOLDER: Any = object()
# Set while an async method makes its sync call, having settled the relay already.
_settled: ContextVar[bool] = ContextVar("hoist_tracer_settled", default=False)


class Tracer:
    """Reports for one service execution (one run).

    Args:
        ctx: the run's context (what the execution pool opened for the run).
    """

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx

    @property
    def fid(self) -> str:
        """The run's id (kodosumi's "flow id")."""
        return str(self._ctx.run_id)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self._ctx.run_id)

    # ------------------------------------------------------------------ the one core
    def _output(self, value: Any, role: str = "result") -> None:
        format, body, model = output_of(value)
        self._settle()
        self._ctx.emit_output(format, body, model, role)

    def _log(self, level: str, message: Any) -> None:
        self._settle()
        self._ctx.emit_log(str(message), level, "tracer")

    def _settle(self) -> None:
        # Not imported: no tracer of this process ever went into a Ray task.
        relay = sys.modules.get("hoist.services.relay")
        if relay is not None and not _settled.get():
            relay.settle_run(self.run_id)

    async def _async(self, call: Callable[..., None], *args: Any, **kwargs: Any) -> None:
        """An async method: settles on a thread (not on the loop), then calls ``call``."""
        relay = sys.modules.get("hoist.services.relay")
        if relay is not None and relay.is_relayed(self.run_id):
            await asyncio.to_thread(relay.settle_run, self.run_id)
        token = _settled.set(True)
        try:
            call(*args, **kwargs)
        finally:
            _settled.reset(token)

    # ------------------------------------------------------------------ sync face
    def markdown_sync(self, *message: str) -> None:
        """Show Markdown (the parts joined by blank lines); rendered sanitised."""
        self._output(Markdown(body="\n\n".join(str(m) for m in message)))

    def html_sync(self, *message: str) -> None:
        """Show HTML (the parts joined by newlines); sanitised before it is shown."""
        self._output(HTML(body="\n".join(str(m) for m in message)))

    def text_sync(self, *message: str) -> None:
        """Show plain text (the parts joined by newlines)."""
        self._output(Text(body="\n".join(str(m) for m in message)))

    def result_sync(self, *message: Any) -> None:
        """Show each value as an intermediate result, with its type (a ``Markdown``, a
        pydantic model, JSON data)."""
        for value in message:
            self._output(value)

    def action_sync(self, *message: Any) -> None:
        """Record each value as an action the execution took (a tool call, a step)."""
        for value in message:
            self._output(value, role="action")

    def debug_sync(self, *message: Any) -> None:
        """A ``DEBUG`` log line in the run's log (the parts joined by newlines)."""
        self._log("DEBUG", _lines(message))

    def warning_sync(self, *message: Any, exc_info: bool = False) -> None:
        """A ``WARNING`` log line in the run's log (the parts joined by newlines);
        ``exc_info=True`` adds the traceback of the exception being handled."""
        self._log("WARNING", _lines(message, exc_info))

    def init(self) -> None:
        """Nothing to do: kodosumi's tracer starts capturing ``print()`` here, while an
        execution's ``print()`` and stderr are captured from its start. (``print()`` in
        a Ray task stays in Ray's worker log; report from a task through the tracer.)"""

    # ------------------------------------------------------------------ async face
    async def markdown(self, *message: str) -> None:
        """:meth:`markdown_sync`, awaitable."""
        await self._async(self.markdown_sync, *message)

    async def html(self, *message: str) -> None:
        """:meth:`html_sync`, awaitable."""
        await self._async(self.html_sync, *message)

    async def text(self, *message: str) -> None:
        """:meth:`text_sync`, awaitable."""
        await self._async(self.text_sync, *message)

    async def result(self, *message: Any) -> None:
        """:meth:`result_sync`, awaitable."""
        await self._async(self.result_sync, *message)

    async def action(self, *message: Any) -> None:
        """:meth:`action_sync`, awaitable."""
        await self._async(self.action_sync, *message)

    async def debug(self, *message: Any) -> None:
        """:meth:`debug_sync`, awaitable."""
        await self._async(self.debug_sync, *message)

    async def warning(self, *message: Any, exc_info: bool = False) -> None:
        """:meth:`warning_sync`, awaitable."""
        # The traceback is read here, in the except block that awaits this.
        await self._async(self._log, "WARNING", _lines(message, exc_info))

    # ------------------------------------------------------------------ human in the loop
    async def lock(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        """Ask a person and wait for the answer: the form of the app's
        ``@app.lock(name)`` (called with ``data``) is shown, the run is ``awaiting``
        until someone answers (validated by the form and the app's ``@app.lease(name)``),
        then ``running`` again. Waiting holds no thread.

        Args:
            name: the lock's name (the app's ``@app.lock(name)``).
            data: what the form is built from, shown with it (JSON data).
            timeout: seconds to wait (``None``: no limit).

        Returns:
            The validated answer (a dict, or what the lease returned).

        Raises:
            LockNotFoundError: the app declares no ``@app.lock(name)``.
            LockExpiredError: nobody answered within ``timeout`` (the run fails).
            RunCancelledError: the run was cancelled while waiting.
        """
        await self._async(lambda: None)  # what Ray tasks traced before comes first
        return await self._locks().lock(name, data, timeout)

    def lock_sync(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        """:meth:`lock` for sync entry points: blocks this thread until answered."""
        self._settle()
        return self._locks().lock_sync(name, data, timeout)

    def _locks(self) -> Any:
        extras = getattr(self._ctx, "extras", None) or {}
        found = extras.get(LOCKS_EXTRA)
        if found is None:
            raise RuntimeError(
                "tracer.lock needs a service execution (a run of a ServicePool or "
                "RayServicePool), from the entry point itself (not from a Ray task)"
            )
        return found

    # ------------------------------------------------------------------ run files
    def fs_sync(self) -> RunFiles:
        """The run's files (its folder, with ``in/`` uploads and ``out/`` deliverables):
        see :mod:`hoist.services.files`. No path leaves the folder."""
        runs_dir = getattr(self._ctx, "runs_dir", _NO_FOLDER)
        if runs_dir is _NO_FOLDER:
            raise RuntimeError(
                f"run {self.run_id}'s files are not reachable here (a tracer in a Ray "
                "task): use tracer.fs() in the entry point and pass the data to the task"
            )
        base = runs_dir if runs_dir is not None else Path.cwd() / ".hoist-runs"
        return RunFiles(base / self.run_id, client=getattr(self._ctx, "client", None))

    async def fs(self) -> AsyncRunFiles:
        """:meth:`fs_sync` for async code: every call awaited, off the loop."""
        return AsyncRunFiles(self.fs_sync())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.fid}>"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled (into a Ray task: ``calculate.remote(i, tracer)``), a tracer reports
        through this process's relay: see :mod:`hoist.services.relay`."""
        from hoist.services.relay import reduce_tracer

        return reduce_tracer(self)


def _lines(parts: tuple[Any, ...], exc_info: bool = False) -> str:
    """A log message from kodosumi-style parts (one per line), with the traceback of
    the exception being handled when asked."""
    lines = [str(part) for part in parts]
    if exc_info:
        lines.append(traceback.format_exc().rstrip("\n"))
    return "\n".join(lines)


class _Recorder:
    """What a :class:`TracerMock` reports to: it keeps every call."""

    def __init__(self, run_id: str, answers: Mapping[str, Any]) -> None:
        self.run_id = run_id
        self.outputs: list[dict[str, Any]] = []
        self.logs: list[tuple[str, str]] = []
        self.locks: list[dict[str, Any]] = []
        self.answers = dict(answers)
        self.runs_dir: Path | None = None  # fs(): the current folder's .hoist-runs/
        self.extras = {LOCKS_EXTRA: self}

    def lock_sync(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        self.locks.append({"name": name, "data": data, "timeout": timeout})
        if name not in self.answers:
            raise LockNotFoundError(name, self.answers, where="TracerMock(answers=...)")
        return self.answers[name]

    async def lock(self, name: str, data: Any = None, timeout: float | None = None) -> Any:
        return self.lock_sync(name, data, timeout)

    def emit_output(self, format: str, body: Any, model: str | None, role: str) -> None:
        self.outputs.append({"format": format, "body": body, "model": model, "role": role})

    def emit_log(self, message: str, level: str, logger: str | None = None) -> None:
        self.logs.append((level, message))


class TracerMock(Tracer):
    """A tracer that records what an entry point reports, to test it without a server::

        tracer = TracerMock()
        result = await execute({"tasks": 2}, tracer)
        assert tracer.outputs[0]["format"] == "markdown"

    Args:
        fid: the run id it reports as.
        answers: what ``tracer.lock(name, ...)`` returns, by lock name (a lock not
            named here raises ``LockNotFoundError``).

    Attributes:
        outputs: each output as ``{format, body, model, role}``, in call order.
        logs: each debug/warning line as ``(level, message)``.
        locks: each lock asked, as ``{name, data, timeout}``.
    """

    def __init__(self, fid: str = "mock", answers: Mapping[str, Any] | None = None) -> None:
        self._recorder = _Recorder(fid, answers or {})
        super().__init__(self._recorder)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """Every output recorded, in order."""
        return self._recorder.outputs

    @property
    def logs(self) -> list[tuple[str, str]]:
        """Every debug/warning line recorded, in order."""
        return self._recorder.logs

    @property
    def locks(self) -> list[dict[str, Any]]:
        """Every lock asked, in order."""
        return self._recorder.locks

    @property
    def markdowns(self) -> list[str]:
        """The bodies of the Markdown outputs."""
        return [o["body"] for o in self.outputs if o["format"] == "markdown"]
