"""Hoist's exceptions: one root, context carried as attributes.

The tree::

    HoistError                      exit code 1
    ├── UserInputError              exit code 2: the caller asked for something wrong
    │   ├── ParamsValidationError   .field_errors {field path: [messages]}
    │   ├── ConfigError             .path, .line, .key (a broken config.yaml)
    │   │   └── StrategyDefinitionError .strategy (a broken deployment strategy folder)
    │   ├── NotFoundError           .kind, .name, .available, .suggestions
    │   │   ├── PluginNotFoundError
    │   │   ├── ActionNotFoundError
    │   │   ├── RunNotFoundError
    │   │   ├── LockNotFoundError   no ``@app.lock(name)`` form for a ``tracer.lock(name)``
    │   │   ├── StrategyNotFoundError no deployment strategy by that name (or not allowed)
    │   │   └── DeploymentNotFoundError no deployment by that name (or no such version)
    │   ├── UnknownModeError
    │   │   └── ServeModeError      the action is declared ``method: serve`` (a deployment)
    │   ├── IncompatibleTypesError  output_type → input_type mismatch
    │   ├── PipelineDefinitionError .nodes (a cycle, a dangling dependency, ...)
    │   ├── ResumeError             .run_id (nothing to resume, corrupt checkpoint, ...)
    │   ├── RunWriteError           .run_id, .field, .not_writer (an ingested batch refused)
    │   ├── EntryPointError         .entry_point (a service's entry point cannot be loaded)
    │   ├── RunPathError            .path, .reason (a run file path that leaves the run's folder)
    │   └── UploadTooLargeError     .name, .limit (an upload over a service's limit: HTTP 413)
    ├── ActionFailedError           .run_id, .error_type, .error_message, .traceback
    │   ├── ResultValidationError   .field_errors (result does not match result_model)
    │   └── RunLostError            the worker running it died; the run is ``lost``
    ├── RunCancelledError           .run_id (raised inside a cancelled run)
    ├── LockExpiredError            .run_id, .name, .timeout (nobody answered a lock in time)
    ├── ServiceBusyError            .retry_after (a service's queue is full: HTTP 429)
    ├── IdentityError               .reason (a signed identity missing, forged or expired: 401)
    ├── DeploymentError             .strategy (a runner could not be built or started)
    │   ├── DeploymentNotReadyError .timeout (not healthy in time; also a TimeoutError)
    │   └── AdaptationError         .check, .path (adapted code failed a validation check)
    ├── StoreError                  the run store could not be read or written
    │   └── StoreUnwritableError    .target, .reason, .unwritten (read-only, no permission, full)
    └── MissingExtraError           .extra (an optional dependency is not installed)

Lower-layer exceptions (pydantic's, SQLAlchemy's, yaml's) are mapped to these at one
boundary each and chained with ``from``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "ActionFailedError",
    "ActionNotFoundError",
    "AdaptationError",
    "ConfigError",
    "DeploymentError",
    "DeploymentNotFoundError",
    "DeploymentNotReadyError",
    "EntryPointError",
    "HoistError",
    "IdentityError",
    "IncompatibleTypesError",
    "LockExpiredError",
    "LockNotFoundError",
    "MissingExtraError",
    "NotFoundError",
    "ParamsValidationError",
    "PipelineDefinitionError",
    "PluginNotFoundError",
    "ResultValidationError",
    "ResumeError",
    "RunCancelledError",
    "RunLostError",
    "RunNotFoundError",
    "RunPathError",
    "RunWriteError",
    "ServeModeError",
    "ServiceBusyError",
    "StoreError",
    "StoreUnwritableError",
    "StrategyDefinitionError",
    "StrategyNotFoundError",
    "UnknownModeError",
    "UploadTooLargeError",
    "UserInputError",
    "field_errors_from_pydantic",
]


class HoistError(Exception):
    """Root of every error Hoist raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments than ``args``: rebuild from the attributes, so
        # an error crosses process boundaries (Ray workers, pickled outcomes) intact.
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(cls: type[HoistError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class UserInputError(HoistError):
    """The caller gave bad input: the CLI exits 2, the API answers 4xx."""

    exit_code = 2


class ParamsValidationError(UserInputError):
    """Params (or a form) failed validation.

    Attributes:
        field_errors: field path (``a.b.0``) to the rules it broke.
    """

    def __init__(self, field_errors: Mapping[str, Sequence[str]], *, subject: str = "params"):
        self.field_errors = {k: list(v) for k, v in field_errors.items()}
        lines = [f"  {field}: {msg}" for field, msgs in self.field_errors.items() for msg in msgs]
        super().__init__(f"invalid {subject}:\n" + "\n".join(lines))


class ConfigError(UserInputError):
    """A plugin's ``config.yaml`` (or another config file) is broken.

    Attributes:
        path: the file.
        line: 1-based line of the offending key, when known.
        key: dotted path of the offending key, when known.
    """

    def __init__(
        self, problem: str, *, path: str, line: int | None = None, key: str | None = None
    ) -> None:
        self.path, self.line, self.key, self.problem = path, line, key, problem
        where = path if line is None else f"{path}:{line}"
        what = f" (key '{key}')" if key else ""
        super().__init__(f"{where}{what}: {problem}")


class NotFoundError(UserInputError):
    """A named thing does not exist; the message lists what does and the nearest match."""

    kind = "item"

    def __init__(self, name: str, available: Iterable[str] = (), *, where: str = "") -> None:
        self.name = name
        self.available = sorted(available)
        self.suggestions = difflib.get_close_matches(name, self.available, n=3, cutoff=0.5)
        msg = f"unknown {self.kind} '{name}'" + (f" in {where}" if where else "")
        if self.suggestions:
            msg += f"; did you mean '{self.suggestions[0]}'?"
        if self.available:
            msg += f" Available: {', '.join(self.available)}"
        super().__init__(msg)


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
            f"{where} is declared 'method: serve' in config.yaml: it is meant to be deployed "
            "as a service, and deployment is not available in this version of Hoist; "
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


class LockNotFoundError(NotFoundError):
    """A service's run asked for a lock (``tracer.lock(name)``) whose form its app never
    declared with ``@app.lock(name)``."""

    kind = "lock"


class LockExpiredError(HoistError):
    """Nobody answered a service's lock within its timeout: the run fails with this.

    Attributes:
        run_id: the run that waited.
        name: the lock's name.
        timeout: the seconds it waited.
    """

    def __init__(self, run_id: str, name: str, timeout: float) -> None:
        self.run_id, self.name, self.timeout = run_id, name, timeout
        super().__init__(
            f"lock {name!r} of run {run_id} expired: nobody answered it within {timeout:g} s"
        )


class EntryPointError(UserInputError):
    """A service's entry point (``"module:obj"``, ``"module.obj"``, a callable or an
    action) cannot be loaded or called: the launch fails at once, no run is left behind.

    Attributes:
        entry_point: the entry point as it was given.
    """

    def __init__(self, entry_point: str, reason: str) -> None:
        self.entry_point, self.reason = entry_point, reason
        self.missing_module: str | None = None  # set when the module itself is not found
        super().__init__(f"entry point {entry_point!r}: {reason}")


class ServiceBusyError(HoistError):
    """A service runs as many executions as it may and its queue is full: nothing was
    launched; try again after ``retry_after`` seconds.

    Attributes:
        service: the service's name.
        retry_after: seconds after which a launch is likely to be admitted.
    """

    def __init__(self, service: str, limit: int, retry_after: float = 1.0) -> None:
        self.service, self.limit, self.retry_after = service, limit, retry_after
        super().__init__(
            f"service {service!r} is busy ({limit} executions running or queued); "
            f"retry after {retry_after:g} s"
        )


class IdentityError(HoistError):
    """A signed identity (``X-Hoist-Identity``) is missing, malformed, forged, expired or
    bound to another run: the request is refused (HTTP 401).

    Attributes:
        reason: why, in a few words (never the token or the secret).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"identity refused: {reason}")


class RunPathError(UserInputError):
    """A path into a run's files leaves the run's folder (``..``, an absolute path, a
    symlink out), or names nothing there.

    Attributes:
        path: the path as it was given.
        reason: why it was refused.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"run file {path!r}: {reason}")


class UploadTooLargeError(UserInputError):
    """An uploaded file, or a request's uploads together, exceed a service's limit
    (HTTP 413); nothing was launched.

    Attributes:
        name: the upload's field (or file) name; ``None`` for the total.
        limit: the limit in bytes.
    """

    def __init__(self, name: str | None, limit: int) -> None:
        self.name, self.limit = name, limit
        what = f"upload {name!r}" if name else "the uploads together"
        super().__init__(f"{what} exceed the limit of {limit} bytes")


class DeploymentNotFoundError(NotFoundError):
    """No deployment by that name (or no such version of it)."""

    kind = "deployment"


class StrategyNotFoundError(NotFoundError):
    """No deployment strategy by that name among the discovered (or the allowed) ones."""

    kind = "strategy"


class StrategyDefinitionError(ConfigError):
    """A deployment strategy folder is broken (a missing file, bad YAML, a missing key, a
    runner that cannot be loaded).

    Attributes:
        strategy: the strategy's name (its folder's name when the config cannot be read).
    """

    def __init__(
        self,
        problem: str,
        *,
        strategy: str,
        path: str,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.strategy = strategy
        super().__init__(f"strategy {strategy!r}: {problem}", path=path, line=line, key=key)
        self.problem = problem


class DeploymentError(HoistError):
    """A strategy's runner could not be built, started or asked.

    Attributes:
        strategy: the strategy's name.
    """

    def __init__(self, message: str, *, strategy: str) -> None:
        self.strategy = strategy
        super().__init__(message)


class DeploymentNotReadyError(DeploymentError, TimeoutError):
    """A deployment did not become healthy within ``timeout`` seconds."""

    def __init__(self, name: str, *, strategy: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(
            f"deployment {name!r} ({strategy}) was not healthy after {timeout:g} s",
            strategy=strategy,
        )


class AdaptationError(DeploymentError):
    """Code adapted to a strategy failed a validation check (syntax, import, required
    files, smoke call).

    Attributes:
        check: the check's name (``syntax``, ``import``, ``required_files``, ``smoke``).
        path: the file concerned, when there is one.
    """

    def __init__(self, message: str, *, strategy: str, check: str, path: str | None = None):
        self.check = check
        self.path = path
        super().__init__(message, strategy=strategy)


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


class MissingExtraError(HoistError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra, self.module = extra, module
        super().__init__(
            f"'{module}' is not installed; install it with: pip install 'hoist[{extra}]'"
        )


def field_errors_from_pydantic(errors: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Turn ``ValidationError.errors()`` into ``{field path: [messages]}``.

    Messages name the rule: ``batch_size: must be <= 1024`` rather than pydantic's
    ``Input should be less than or equal to 1024``.
    """
    out: dict[str, list[str]] = {}
    for err in errors:
        path = ".".join(str(p) for p in err.get("loc", ())) or "_global_"
        out.setdefault(path, []).append(_rule_message(err))
    return out


_RULES = {
    "less_than_equal": "must be <= {le}",
    "less_than": "must be < {lt}",
    "greater_than_equal": "must be >= {ge}",
    "greater_than": "must be > {gt}",
    "string_too_short": "must have at least {min_length} characters",
    "string_too_long": "must have at most {max_length} characters",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "string_pattern_mismatch": "must match pattern {pattern}",
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be a boolean",
    "bool_type": "must be a boolean",
    "string_type": "must be a string",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "multiple_of": "must be a multiple of {multiple_of}",
}


def _rule_message(err: Mapping[str, Any]) -> str:
    template = _RULES.get(str(err.get("type", "")))
    ctx = err.get("ctx") or {}
    if template is not None:
        try:
            return template.format(**ctx)
        except (KeyError, IndexError):
            pass
    return str(err.get("msg", "invalid value"))
