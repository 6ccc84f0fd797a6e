"""What runs inside a Ray worker: load an action from its entrypoint string (never a
pickled class), run it with a context whose events go straight to the run store, and
hand back a plain outcome (no Ray exceptions, no nested remote tracebacks)."""

from __future__ import annotations

import pickle
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist._entrypoints import resolve_entrypoint
from hoist.errors import ActionFailedError, ParamsValidationError, RunCancelledError
from hoist.plugins.action import BaseAction
from hoist.plugins.context import RuntimeContext
from hoist.plugins.decorators import as_action_class
from hoist.plugins.invoke import invoke_action, jsonable
from hoist.plugins.pipeline_context import PipelineContext
from hoist.runs.models import Run, RunStatus
from hoist.runs.runtime import Runtime
from hoist.settings import Settings

__all__ = ["ActionSpec", "Outcome", "WorkerRuntime", "load_action"]


@dataclass(frozen=True)
class ActionSpec:
    """Names an action so that any process can load it.

    Attributes:
        entrypoint: ``module:attribute``; relative to ``plugin_path`` when that is set.
        action: the action's name in its plugin.
        plugin_path: the plugin folder, loaded in its own namespace.
    """

    entrypoint: str
    action: str
    plugin_path: str | None = None


@dataclass
class Outcome:
    """What a worker returns: a result, or why there is none."""

    status: str
    result: Any = None
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    field_errors: dict[str, list[str]] | None = None
    exception: bytes | None = None
    exception_ref: tuple[str, str, bytes] | None = None

    def unpickled_exception(self, plugin_path: str | None = None) -> BaseException | None:
        """The action's own exception, when it can be rebuilt in this process.

        An exception class defined in a plugin lives in that plugin's private namespace,
        whose name differs between processes: it is rebuilt by its plugin-relative name
        through this process's namespace of the same plugin.
        """
        if self.exception is not None:
            try:
                exc = pickle.loads(self.exception)
            except Exception:
                exc = None
            if isinstance(exc, BaseException):
                return exc
        if self.exception_ref is None or plugin_path is None:
            return None
        module, qualname, args = self.exception_ref
        try:
            from hoist.plugins.discovery import load_plugin

            namespace = load_plugin(plugin_path).namespace
            if namespace is None:
                return None
            target = resolve_entrypoint(f"{module}:{qualname}", namespace.import_module)
            rebuilt = target(*pickle.loads(args))
        except Exception:
            return None
        return rebuilt if isinstance(rebuilt, BaseException) else None


_loaded: dict[ActionSpec, tuple[float, type[BaseAction[Any]]]] = {}
RECHECK_AFTER = 1.0
"""Seconds a worker trusts a loaded action before checking its plugin's files again."""


def load_action(spec: ActionSpec) -> type[BaseAction[Any]]:
    """Import the action ``spec`` names (through its plugin when it has one).

    Workers run the same actions over and over: a loaded action is reused, and its
    plugin's files are checked for changes at most every :data:`RECHECK_AFTER` seconds.
    """
    now = time.monotonic()
    cached = _loaded.get(spec)
    if cached is not None and now - cached[0] < RECHECK_AFTER:
        return cached[1]
    action_cls = _import_action(spec)
    _loaded[spec] = (now, action_cls)
    return action_cls


def _import_action(spec: ActionSpec) -> type[BaseAction[Any]]:
    if spec.plugin_path is not None:
        from hoist.plugins.discovery import load_plugin

        return load_plugin(spec.plugin_path).load_action(spec.action)
    return as_action_class(resolve_entrypoint(spec.entrypoint))


@dataclass
class WorkerRuntime:
    """Per-process state of a worker: its run store connection and live contexts."""

    store_url: str
    home: str
    runtime: Runtime = field(init=False)
    contexts: dict[str, RuntimeContext] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _runs_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        settings = Settings(home=Path(self.home), database_url=self.store_url)
        self.runtime = Runtime(settings)
        self._runs_dir = self.runtime.runs_dir
        # The worker's process is an edge: the driver hands it the server (as secrets).
        edge = Settings.from_env()
        self.client_factory: Callable[[RuntimeContext], Any] | None = None
        if edge.server_url and edge.token:
            from hoist.client.run_client import run_client_factory

            self.client_factory = run_client_factory(edge.server_url, edge.token)

    def run(
        self,
        spec: ActionSpec,
        run: Run,
        params: dict[str, Any],
        env: dict[str, Any],
        progress_interval: float = 0.02,
        flush: bool = False,
        record_params: bool = False,
    ) -> Outcome:
        """Run one action to its end; every event goes to the store.

        The store sink commits in the background (within its interval); ``flush``
        waits for that commit before returning. With ``record_params`` (a Ray job, whose
        driver recorded the params withheld), the validated params, secrets masked,
        become the run's recorded params (:meth:`RunStore.record_params`) before it runs.
        """
        sink = self.runtime.sink
        sink.open_run(run)  # idempotent: the driver may have recorded it already
        ctx = RuntimeContext(
            run.id, sink, env=env, job_id=run.meta.get("job_id"), action_name=spec.action,
            runs_dir=self._runs_dir, progress_interval=progress_interval,
            client_factory=self.client_factory,
        )  # fmt: skip
        shared = PipelineContext.from_meta(run.meta, run.parent_id)
        if shared is not None:  # a pipeline node placed on another worker
            ctx.extras["node"] = run.meta.get("node")
            ctx.extras["pipeline"] = shared
        with self._lock:
            self.contexts[run.id] = ctx
        try:
            return self._invoke(spec, params, ctx, record_params)
        finally:
            with self._lock:
                self.contexts.pop(run.id, None)
            if flush:
                sink.flush()

    def _invoke(
        self, spec: ActionSpec, params: dict[str, Any], ctx: RuntimeContext, record_params: bool
    ) -> Outcome:
        try:
            action_cls = load_action(spec)
            valid = action_cls.validate_params(params)
        except ParamsValidationError as exc:
            ctx.emit_error("ParamsValidationError", exc.message, field_errors=exc.field_errors)
            ctx.emit_status(RunStatus.FAILED)
            return Outcome("failed", error_type="ParamsValidationError", message=exc.message,
                           field_errors=exc.field_errors)  # fmt: skip
        except Exception as exc:  # the action cannot even be loaded here
            tb = "".join(traceback.format_exception(exc))
            message = f"cannot load action '{spec.action}' ({spec.entrypoint}) on the worker: {exc}"
            hint = _import_hint(exc)
            ctx.emit_error(type(exc).__name__, message + hint, tb)
            ctx.emit_status(RunStatus.FAILED)
            return Outcome("failed", error_type=type(exc).__name__, message=message + hint,
                           traceback=tb)  # fmt: skip
        if record_params:  # pydantic's JSON dump masks the secret values
            self.runtime.store.record_params(ctx.run_id, valid.model_dump(mode="json"))
        try:
            result = invoke_action(action_cls, valid, ctx)
        except RunCancelledError:
            return Outcome("cancelled")
        except ActionFailedError as exc:
            return Outcome(
                "failed", error_type=exc.error_type, message=exc.error_message,
                traceback=exc.traceback, field_errors=getattr(exc, "field_errors", None),
                exception=_pickled(exc.__cause__), exception_ref=_reference(exc.__cause__),
            )  # fmt: skip
        return Outcome("succeeded", result=jsonable(result))

    def cancel(self, run_id: str, reason: str | None = None) -> bool:
        """Cancel a run executing in this process; False if it is not here."""
        with self._lock:
            ctx = self.contexts.get(run_id)
        if ctx is None:
            return False
        ctx.cancel(reason)
        return True


def _pickled(exc: BaseException | None) -> bytes | None:
    if exc is None:
        return None
    try:
        exc.__traceback__ = None
        return pickle.dumps(exc)
    except Exception:
        return None


def _reference(exc: BaseException | None) -> tuple[str, str, bytes] | None:
    """(plugin-relative module, qualname, pickled args) of an exception class that lives
    in a plugin namespace."""
    if exc is None:
        return None
    from hoist.plugins.loader import PREFIX

    module = type(exc).__module__
    if not module.startswith(PREFIX):
        return None
    try:
        args = pickle.dumps(exc.args)
    except Exception:
        args = pickle.dumps(tuple(str(a) for a in exc.args))
    return module.split(".", 1)[1] if "." in module else module, type(exc).__qualname__, args


def _import_hint(exc: BaseException | None) -> str:
    while exc is not None and not isinstance(exc, ModuleNotFoundError):
        exc = exc.__cause__ or exc.__context__
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return (
            f"; module '{exc.name}' is not installed on the worker: add it to the plugin's "
            "requirements (requirements.txt or config.yaml 'requirements')"
        )
    return ""
