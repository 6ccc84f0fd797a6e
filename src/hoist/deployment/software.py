"""`DeployedSoftware`: one face over any runner, answering one envelope."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from hoist.deployment.base import Runner
from hoist.deployment.envelope import error_envelope, exception_envelope
from hoist.deployment.models import DeploymentInfo
from hoist.errors import DeploymentNotReadyError

__all__ = ["DeployedSoftware", "normalize"]


def normalize(answer: Any) -> dict[str, Any]:
    """Turn whatever a runner answered into the envelope; an error never becomes a success.

    A mapping with ``status`` is read as an envelope (any status but ``success``, or a
    success that carries an ``error``, is an error); a mapping with only ``error`` is an
    error; anything else is a bare output.
    """
    if not isinstance(answer, Mapping):
        return {"status": "success", "output": answer}
    if "status" not in answer:
        if set(answer) == {"error"}:
            return _error_of(answer["error"])
        return {"status": "success", "output": dict(answer)}
    status = answer.get("status")
    if status == "success" and answer.get("error") is None:
        return {"status": "success", "output": answer.get("output")}
    if status == "success" or status == "error":
        return _error_of(answer.get("error"))
    return error_envelope("InvalidResponse", f"the runner answered status {status!r}")


def _error_of(error: Any) -> dict[str, Any]:
    if isinstance(error, Mapping):
        kind = error.get("type") or "Error"
        message = error.get("message")
        extra = {str(k): v for k, v in error.items() if k not in ("type", "message")}
        text = str(message if message is not None else dict(error))
        return error_envelope(str(kind), text, **extra)  # field_errors, run_id... kept
    if isinstance(error, BaseException):
        return error_envelope(type(error).__name__, str(error))
    return error_envelope("Error", "unknown error" if error is None else str(error))


class DeployedSoftware:
    """A deployed program: call it, batch it, watch it, stop it.

    Every answer is ``{"status": "success", "output": ...}`` or
    ``{"status": "error", "error": {"type": ..., "message": ...}}``, whatever the runner
    answered or raised. Used as a context manager it starts and stops the runner.

    Args:
        runner: the strategy's runner.
        info: what was deployed.
    """

    def __init__(self, runner: Runner, info: DeploymentInfo) -> None:
        self.runner = runner
        self.info = info
        self._started = False

    @property
    def name(self) -> str:
        """The deployment's name (the strategy's when it has none)."""
        return self.info.name or self.info.strategy

    @property
    def endpoint(self) -> str | None:
        """The deployment's URL, when it serves one."""
        return self.info.endpoint or getattr(self.runner, "endpoint", None)

    def start(self) -> None:
        """Start the runner (idempotent)."""
        self.runner.start()
        self._started = True

    def stop(self) -> None:
        """Stop the runner and release its resources (idempotent)."""
        self._started = False
        self.runner.stop()

    def run(self, inputs: Mapping[str, Any] | None = None, /, **kwargs: Any) -> dict[str, Any]:
        """Call the deployed program once (starting it first if needed).

        Args:
            inputs: the inputs; keyword arguments are merged over them.
        """
        if inputs is not None and not isinstance(inputs, Mapping):
            kind = type(inputs).__name__
            return error_envelope("TypeError", f"inputs must be a mapping of names, got {kind}")
        payload = {**(inputs or {}), **kwargs}
        try:
            if not self._started:
                self.start()
            answer = self.runner.run(payload)
        except Exception as exc:
            return exception_envelope(exc)
        return normalize(answer)

    def __call__(self, inputs: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Any:
        """Same as `run`."""
        return self.run(inputs, **kwargs)

    def run_batch(self, batch: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """`run` each inputs in turn; one envelope per inputs, in order."""
        return [self.run(inputs) for inputs in batch]

    def is_healthy(self) -> bool:
        """Whether the runner answers its health check (a raising check is unhealthy)."""
        try:
            return bool(self.runner.is_healthy())
        except Exception:
            return False

    def logs(self) -> str:
        """The runner's logs so far."""
        try:
            return self.runner.get_logs() or ""
        except Exception as exc:
            return f"(logs unavailable: {type(exc).__name__}: {exc})"

    def input_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the inputs, when the runner knows it (a raising runner: None)."""
        try:
            schema = self.runner.input_schema()
        except Exception:
            return None
        return schema if isinstance(schema, dict) else None

    def wait_ready(self, timeout: float = 30.0) -> DeployedSoftware:
        """Start if needed and wait until healthy.

        Raises:
            DeploymentNotReadyError: still unhealthy after ``timeout`` seconds.
        """
        if not self._started:
            self.start()
        deadline = time.monotonic() + timeout
        delay = 0.01
        while not self.is_healthy():
            if time.monotonic() >= deadline:
                raise DeploymentNotReadyError(self.name, strategy=self.info.strategy,
                                              timeout=timeout)  # fmt: skip
            time.sleep(delay)  # polling an engine's health; no event to wait on
            delay = min(delay * 2, 0.25)
        return self

    def __enter__(self) -> DeployedSoftware:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"DeployedSoftware({self.name!r}, strategy={self.info.strategy!r})"
