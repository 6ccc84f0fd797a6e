"""Errors of plugins, actions, pipelines and the run store."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hoist.errors.base import HoistError, NotFoundError, UserInputError

__all__ = [
    "ActionFailedError",
    "ActionNotFoundError",
    "IncompatibleTypesError",
    "PipelineDefinitionError",
    "PluginNotFoundError",
    "ResultValidationError",
    "ResumeError",
    "RunCancelledError",
    "RunLostError",
    "RunNotFoundError",
    "RunWriteError",
    "ServeModeError",
    "StoreError",
    "StoreUnwritableError",
    "UnknownModeError",
]


class PluginNotFoundError(NotFoundError):
    """No plugin by that code or path."""

    kind = "plugin"


class ActionNotFoundError(NotFoundError):
    """The plugin has no action by that name."""

    kind = "action"


class RunNotFoundError(NotFoundError):
    """No run with that id in the store."""

    kind = "run"


class UnknownModeError(UserInputError):
    """``run_plugin`` was asked for an execution mode that does not exist."""

    def __init__(self, mode: str, available: Iterable[str]) -> None:
        self.mode = mode
        self.available = sorted(available)
        super().__init__(f"unknown mode '{mode}'; choose one of: {', '.join(self.available)}")


class ServeModeError(UnknownModeError):
    """The action declares ``method: serve``: it is deployed as a service, not run as a
    one-off action (pass another mode to run it as an action)."""

    def __init__(self, action: str, plugin: str | None = None) -> None:
        self.mode = "serve"
        self.available = []
        self.action = action
        self.plugin = plugin
        where = f"action '{action}'" + (f" of plugin '{plugin}'" if plugin else "")
        UserInputError.__init__(
            self,
            f"{where} is declared 'method: serve' in config.yaml, but only a "
            "BaseDeploymentAction (hoist.deployment) deploys itself when run; deploy other "
            "code with `hoist deploy` (or POST /api/v1/deployments), or, "
            "to run it once as an action, give a mode: local, task or job "
            "(hoist run --mode local, run_plugin(..., mode='local'))",
        )


class IncompatibleTypesError(UserInputError):
    """An action's ``output_type`` cannot feed the next action's ``input_type``."""


class PipelineDefinitionError(UserInputError):
    """A pipeline cannot be built: a cycle, a dangling dependency, a duplicate key...

    Attributes:
        nodes: the nodes involved.
    """

    def __init__(self, message: str, nodes: Iterable[str] = ()) -> None:
        self.nodes = list(nodes)
        super().__init__(message)


class ResumeError(UserInputError):
    """A run cannot be resumed (not a pipeline, changed params, corrupt checkpoint...)."""

    def __init__(self, run_id: str, problem: str) -> None:
        self.run_id = run_id
        super().__init__(f"cannot resume run {run_id}: {problem}")


class RunWriteError(UserInputError):
    """A batch a worker posted may not be written: its run ended, the status it names is
    not one the run may move to, or the run is written by another worker.

    Attributes:
        run_id: the run.
        field: the batch item at fault (``runs.0``, ``events.3``).
        not_writer: ``True`` when the run belongs to another worker (or to none), ``False``
            when the run's state forbids the change.
    """

    def __init__(self, run_id: str, field: str, problem: str, *, not_writer: bool = False):
        self.run_id = run_id
        self.field = field
        self.not_writer = not_writer
        super().__init__(f"{field}: run {run_id} {problem}")


class ActionFailedError(HoistError):
    """The action raised; the run is ``failed``.

    Attributes:
        run_id: the failed run.
        error_type: qualified name of the exception the action raised.
        error_message: its message.
        traceback: the formatted traceback, as stored in the run's error event.
    """

    def __init__(
        self,
        run_id: str,
        error_type: str,
        error_message: str,
        traceback: str = "",
    ) -> None:
        self.run_id = run_id
        self.error_type = error_type
        self.error_message = error_message
        self.traceback = traceback
        super().__init__(f"run {run_id} failed: {error_type}: {error_message}")


class ResultValidationError(ActionFailedError):
    """The action returned a value that does not match its ``result_model``."""

    def __init__(self, run_id: str, field_errors: Mapping[str, Sequence[str]]) -> None:
        self.field_errors = {k: list(v) for k, v in field_errors.items()}
        detail = "; ".join(f"{f}: {', '.join(m)}" for f, m in self.field_errors.items())
        super().__init__(run_id, "ResultValidationError", f"result does not match: {detail}")


class RunLostError(ActionFailedError):
    """The process (or node) running the run died; the run is ``lost``."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(run_id, "RunLost", reason)


class RunCancelledError(HoistError):
    """Raised at a cancellation point inside a run that was cancelled."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} was cancelled")


class StoreError(HoistError):
    """The run store failed (unreachable database, failed migration, ...)."""


class StoreUnwritableError(StoreError):
    """The store (or server) refuses writes for now: read-only, no permission, disk full.
    What was written before stays; what was not is kept in memory and retried until it
    accepts writes again.

    Attributes:
        target: what refuses them (e.g. ``run store sqlite:///...``).
        reason: the database's or system's words.
        unwritten: runs and events not written yet.
    """

    def __init__(self, target: str, reason: str, unwritten: int) -> None:
        self.target, self.reason, self.unwritten = target, reason, unwritten
        super().__init__(
            f"{target} is not writable ({reason}); {unwritten} runs/events not written yet "
            "are kept in memory and retried, what was written before is kept"
        )
