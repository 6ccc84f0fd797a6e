"""The ``Tracer`` an entry point reports through, as kodosumi's entry points do:
``await tracer.markdown(...)`` or, from sync code and Ray tasks, ``tracer.markdown_sync(...)``.

A tracer is a thin face over its run's :class:`~hoist.plugins.context.RuntimeContext`:
every call is an event in the run's log (markdown, html, text, result and action calls
are ``output`` events; debug and warning are log lines), so the CLI, the API, the SSE
stream and the panel all show it. Emitting is a queue append, so the async methods never
block the loop; they exist so that code written for kodosumi runs unchanged.

:class:`TracerMock` records the calls instead, to test an entry point without a server.
"""

from __future__ import annotations

from typing import Any

from hoist.services.response import HTML, Markdown, Text, output_of

__all__ = ["Tracer", "TracerMock"]


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
        self._ctx.emit_output(format, body, model, role)

    def _log(self, level: str, message: Any) -> None:
        self._ctx.emit_log(str(message), level, "tracer")

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

    def debug_sync(self, message: Any) -> None:
        """A ``DEBUG`` log line in the run's log."""
        self._log("DEBUG", message)

    def warning_sync(self, message: Any) -> None:
        """A ``WARNING`` log line in the run's log."""
        self._log("WARNING", message)

    # ------------------------------------------------------------------ async face
    async def markdown(self, *message: str) -> None:
        """:meth:`markdown_sync`, awaitable."""
        self.markdown_sync(*message)

    async def html(self, *message: str) -> None:
        """:meth:`html_sync`, awaitable."""
        self.html_sync(*message)

    async def text(self, *message: str) -> None:
        """:meth:`text_sync`, awaitable."""
        self.text_sync(*message)

    async def result(self, *message: Any) -> None:
        """:meth:`result_sync`, awaitable."""
        self.result_sync(*message)

    async def action(self, *message: Any) -> None:
        """:meth:`action_sync`, awaitable."""
        self.action_sync(*message)

    async def debug(self, message: Any) -> None:
        """:meth:`debug_sync`, awaitable."""
        self.debug_sync(message)

    async def warning(self, message: Any) -> None:
        """:meth:`warning_sync`, awaitable."""
        self.warning_sync(message)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.fid}>"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled (into a Ray task: ``calculate.remote(i, tracer)``), a tracer reports
        through this process's relay: see :mod:`hoist.services.relay`."""
        from hoist.services.relay import reduce_tracer

        return reduce_tracer(self)


class _Recorder:
    """What a :class:`TracerMock` reports to: it keeps every call."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.outputs: list[dict[str, Any]] = []
        self.logs: list[tuple[str, str]] = []

    def emit_output(self, format: str, body: Any, model: str | None, role: str) -> None:
        self.outputs.append({"format": format, "body": body, "model": model, "role": role})

    def emit_log(self, message: str, level: str, logger: str | None = None) -> None:
        self.logs.append((level, message))


class TracerMock(Tracer):
    """A tracer that records what an entry point reports, to test it without a server::

        tracer = TracerMock()
        result = await execute({"tasks": 2}, tracer)
        assert tracer.outputs[0]["format"] == "markdown"

    Attributes:
        outputs: each output as ``{format, body, model, role}``, in call order.
        logs: each debug/warning line as ``(level, message)``.
    """

    def __init__(self, fid: str = "mock") -> None:
        self._recorder = _Recorder(fid)
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
    def markdowns(self) -> list[str]:
        """The bodies of the Markdown outputs."""
        return [o["body"] for o in self.outputs if o["format"] == "markdown"]
