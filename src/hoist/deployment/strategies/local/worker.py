"""The `local` strategy's worker: runs in its own interpreter, started by
:class:`~hoist.deployment.strategies.local.runner.LocalRunner` as
``python -m hoist.deployment.strategies.local.worker IN_FD OUT_FD``.

The protocol is length-prefixed pickles over two pipes
(:class:`multiprocessing.connection.Connection` framing):

1. the runner sends the spec ``{"code_path", "module", "callable", "action"}``;
2. the worker loads the target and answers ``{"status": "ready", "input_schema": ...}``
   (a plugin action's params JSON Schema; None for a callable) or an error envelope (and
   exits);
3. then, per call: the runner sends the inputs dict, the worker answers the envelope.

The worker's stdout and stderr go to the runner's log pipe; a plugin action's log and
message events are written to stderr, so they show in ``get_logs()``. EOF on the input
pipe ends the worker.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from hoist.deployment.envelope import exception_envelope
from hoist.runs.models import EventBase, Run
from hoist.runs.sinks.base import EventSink

__all__ = ["input_schema_of", "load_target", "main"]

_PICKLE = pickle.HIGHEST_PROTOCOL


def load_target(spec: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Load what ``spec`` names and return a function from inputs to an envelope.

    Raises:
        Exception: whatever loading raised (a missing module or attribute, a broken plugin).
    """
    code_path = spec.get("code_path")
    if spec.get("action"):
        if not code_path:
            raise ValueError("a plugin action needs code_path, the plugin folder")
        return _action_target(code_path, spec["action"])
    if code_path:
        # The code folder first, so its modules win over same-named installed ones.
        sys.path.insert(0, os.path.abspath(code_path))
    from hoist._entrypoints import resolve_entrypoint

    target = resolve_entrypoint(
        f"{spec.get('module') or 'main'}:{spec.get('callable') or 'predict'}"
    )
    if not callable(target):
        raise TypeError(f"{spec.get('module')}:{spec.get('callable')} is not callable")
    from hoist.plugins.awaitables import resolve

    def call(inputs: dict[str, Any]) -> dict[str, Any]:
        return {"status": "success", "output": resolve(target(inputs))}

    return call


def _action_target(code_path: str, action: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from hoist.errors import ParamsValidationError
    from hoist.plugins.context import RuntimeContext
    from hoist.plugins.discovery import load_plugin
    from hoist.plugins.invoke import jsonable, run_action

    plugin = load_plugin(code_path)
    action_cls = plugin.load_action(action)
    schema = action_cls.params_model.model_json_schema()
    sink = _StderrSink()
    calls = 0

    def call(inputs: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        try:
            params = action_cls.validate_params(inputs)
        except ParamsValidationError as exc:
            return exception_envelope(exc, field_errors=exc.field_errors)
        calls += 1
        ctx = RuntimeContext(f"local-{os.getpid()}-{calls}", sink, action_name=action)
        try:
            return {"status": "success", "output": jsonable(run_action(action_cls, params, ctx))}
        finally:
            ctx.close()

    call.input_schema = schema  # type: ignore[attr-defined]
    return call


def input_schema_of(target: Callable[..., Any]) -> dict[str, Any] | None:
    """The JSON Schema of a loaded target's inputs (a plugin action's params), else None."""
    schema = getattr(target, "input_schema", None)
    return schema if isinstance(schema, dict) else None


class _StderrSink(EventSink):
    """Writes each log, message and error event's summary to stderr; keeps nothing."""

    def open_run(self, run: Run) -> None:
        """Nothing to open: the worker keeps no runs."""

    def emit(self, event: EventBase) -> None:
        """Print the summary of a log, message or error event to stderr."""
        if event.type in ("log", "message", "error"):
            print(event.summary(), file=sys.stderr, flush=True)


def _serve(conn_in: Connection, conn_out: Connection) -> int:
    try:
        spec = pickle.loads(conn_in.recv_bytes())
    except EOFError:
        return 0
    try:
        target = load_target(spec)
    except BaseException as exc:  # every load failure is answered
        traceback.print_exc()
        conn_out.send_bytes(pickle.dumps(exception_envelope(exc), _PICKLE))
        return 1
    ready = {"status": "ready", "input_schema": input_schema_of(target)}
    conn_out.send_bytes(pickle.dumps(ready, _PICKLE))
    while True:
        try:
            data = conn_in.recv_bytes()
        except EOFError:
            return 0
        try:
            envelope = target(pickle.loads(data))
        except Exception as exc:  # the caller gets the error, not a dead worker
            traceback.print_exc()
            envelope = exception_envelope(exc)
        try:
            payload = pickle.dumps(envelope, _PICKLE)
        except Exception as exc:  # an output that cannot travel back
            payload = pickle.dumps(
                exception_envelope(TypeError(f"the output cannot be sent back: {exc}"))
            )
        conn_out.send_bytes(payload)


def main(argv: list[str] | None = None) -> int:
    """Serve calls over the pipes whose descriptors ``argv`` names (``IN_FD OUT_FD``)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: python -m hoist.deployment.strategies.local.worker IN_FD OUT_FD",
            file=sys.stderr,
        )
        return 2
    conn_in = Connection(int(args[0]), writable=False)
    conn_out = Connection(int(args[1]), readable=False)
    try:
        return _serve(conn_in, conn_out)
    finally:
        conn_in.close()
        conn_out.close()


if __name__ == "__main__":
    sys.exit(main())
