"""The executor contract. The public methods do the shared work (resolve the action
class, validate params before any run exists, build the run record) and hand a prepared
run to the backend's ``_execute`` / ``_submit``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from hoist.executors.handle import RunHandle
from hoist.plugins.action import BaseAction
from hoist.plugins.decorators import as_action_class
from hoist.plugins.env import PluginEnvironment
from hoist.runs.models import Run, RunKind, new_run_id
from hoist.runs.reader import RunLog
from hoist.runs.runtime import Runtime, get_runtime
from hoist.runs.sinks.base import EventSink

__all__ = ["Executor", "PreparedRun", "plugin_run_options"]


class PreparedRun:
    """An action class, its validated params and its (not yet opened) run record."""

    __slots__ = ("action_cls", "entrypoint", "params", "run")

    def __init__(
        self,
        action_cls: type[BaseAction[Any]],
        params: BaseModel,
        run: Run,
        entrypoint: str | None,
    ) -> None:
        self.action_cls = action_cls
        self.params = params
        self.run = run
        self.entrypoint = entrypoint


class Executor(ABC):
    """Runs actions somewhere and records them in the run log.

    Args:
        sink: where events go (default: the process runtime's store sink).
        env: settings handed to actions as ``ctx.env``.
        job_id: an external id every run of this executor carries.
        runtime: the store/settings to use (default: the process runtime).
        progress_interval: minimum spacing of progress events per category.
    """

    mode: ClassVar[str] = ""

    def __init__(
        self,
        *,
        sink: EventSink | None = None,
        env: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        runtime: Runtime | None = None,
        progress_interval: float = 0.02,
    ) -> None:
        self._sink = sink
        self._runtime = runtime
        self.env = PluginEnvironment(env)
        self.job_id = job_id
        self.progress_interval = progress_interval
        self._runs_dir: Path | None = None

    # ------------------------------------------------------------------ wiring
    @property
    def runtime(self) -> Runtime:
        """The runtime this executor writes to."""
        if self._runtime is None:
            self._runtime = get_runtime()
        return self._runtime

    @property
    def sink(self) -> EventSink:
        """Where this executor's runs send their events."""
        if self._sink is None:
            self._sink = self.runtime.sink
        return self._sink

    @property
    def log(self) -> RunLog:
        """Where this executor's runs can be read back."""
        if isinstance(self._sink, RunLog):
            return self._sink
        return self.runtime.store

    @property
    def runs_dir(self) -> Path:
        """Parent folder of each run's own folder."""
        if self._runs_dir is None:
            self._runs_dir = self.runtime.runs_dir
        return self._runs_dir

    # ------------------------------------------------------------------ public API
    def prepare(
        self,
        action_cls: Any,
        params: BaseModel | Mapping[str, Any] | None = None,
        *,
        plugin: str | None = None,
        entrypoint: str | None = None,
        parent_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        action: str | None = None,
    ) -> PreparedRun:
        """Resolve and validate; raises before any run is recorded.

        ``action`` is the name the run is recorded under (the plugin's name for it;
        default: the class's ``action_name``).

        Raises:
            ParamsValidationError: naming every failing field.
            TypeError: ``action_cls`` is not an action.
        """
        cls = as_action_class(action_cls)
        valid = cls.validate_params(params)  # type: ignore[arg-type]
        run = Run(
            id=new_run_id(),
            kind=RunKind.ACTION,
            parent_id=parent_id,
            plugin=plugin,
            action=action or cls.action_name,
            mode=self.mode,
            params=valid.model_dump(mode="json"),
            meta=dict(meta or {}),
        )
        return PreparedRun(cls, valid, run, entrypoint)

    def prepare_plugin(
        self, plugin: Any, action: str, params: BaseModel | Mapping[str, Any] | None = None
    ) -> PreparedRun:
        """:meth:`prepare` the action ``action`` of a loaded plugin definition.

        Executors whose workers import the action themselves (Ray Jobs) may skip
        importing it here.
        """
        options = plugin_run_options(plugin, action)
        return self.prepare(plugin.load_action(action), params, **options)

    def execute(
        self,
        action_cls: Any,
        params: BaseModel | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """Run the action to completion and return its result.

        Raises:
            ParamsValidationError: bad params (no run is recorded).
            ActionFailedError: the action raised; the run is ``failed``.
            RunCancelledError: the run was cancelled.
        """
        return self._execute(self.prepare(action_cls, params, **options))

    def submit(
        self,
        action_cls: Any,
        params: BaseModel | Mapping[str, Any] | None = None,
        **options: Any,
    ) -> RunHandle:
        """Start the action and return a :class:`RunHandle` at once."""
        return self._submit(self.prepare(action_cls, params, **options))

    def execute_prepared(self, prepared: PreparedRun) -> Any:
        """Run a :meth:`prepare` d run to completion (lets callers see the run id first)."""
        return self._execute(prepared)

    def submit_prepared(self, prepared: PreparedRun) -> RunHandle:
        """Start a :meth:`prepare` d run."""
        return self._submit(prepared)

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release workers (threads, actors); pending runs finish first."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ backends
    @abstractmethod
    def _execute(self, prepared: PreparedRun) -> Any:
        """Run ``prepared`` to completion; return its typed result."""

    @abstractmethod
    def _submit(self, prepared: PreparedRun) -> RunHandle:
        """Start ``prepared``; return a handle."""


def plugin_run_options(plugin: Any, action: str) -> dict[str, Any]:
    """How a run of a plugin's action is recorded: plugin code, the action's name in the
    plugin, its entrypoint, and the plugin folder (so other processes can load it)."""
    meta = {"plugin_path": str(plugin.root)} if plugin.root is not None else {}
    return {
        "plugin": plugin.code,
        "action": action,
        "entrypoint": plugin.entrypoint(action),
        "meta": meta,
    }
