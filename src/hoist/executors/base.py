"""The executor contract. The public methods do the shared work (resolve the action
class, validate params before any run exists, build the run record) and hand a prepared
run to the backend's ``_execute`` / ``_submit``.

Pipelines run through the same contract: :meth:`Executor.submit_pipeline` starts one
(by default the pipeline's engine runs in this process and places each node's action
with :meth:`Executor.run_node`; a backend may take the whole pipeline elsewhere, as plain
data: :meth:`PipelineLike.describe`). This layer never imports the pipelines.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from hoist.errors import UserInputError
from hoist.executors.handle import RunHandle
from hoist.executors.pipeline_contract import PipelineLike, PipelineOptions
from hoist.executors.plugin_actions import name_in_plugin, plugin_run_options
from hoist.plugins.action import BaseAction
from hoist.plugins.context import RuntimeContext
from hoist.plugins.decorators import as_action_class
from hoist.plugins.env import PluginEnvironment
from hoist.plugins.invoke import invoke_action
from hoist.runs.models import Run, RunKind, new_run_id
from hoist.runs.reader import RunLog
from hoist.runs.runtime import Runtime, RuntimeBound
from hoist.runs.sinks.base import EventSink

__all__ = [
    "Executor",
    "PipelineLike",
    "PipelineOptions",
    "PreparedRun",
    "server_client_factory",
]

CANCEL_POLL = 0.1
"""Seconds between checks of a node's context while its action runs on another worker."""


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


class Executor(RuntimeBound, ABC):
    """Runs actions somewhere and records them in the run log.

    Args:
        sink: where events go (default: the process runtime's store sink).
        env: settings handed to actions as ``ctx.env``.
        job_id: an external id every run of this executor carries.
        runtime: the store/settings to use (default: the process runtime).
        progress_interval: minimum spacing of progress events per category.
        log: where runs are read back (default: see :attr:`log`).
        working_dir: the plugin folder actions are named in (``execute('train', ...)``),
            or a published package: an archive, its URL or ``LOCATION:CODE[@VERSION]``.
    """

    mode: ClassVar[str] = ""

    def __init__(
        self,
        *,
        sink: EventSink | None = None,
        env: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        runtime: Runtime | None = None,
        log: RunLog | None = None,
        progress_interval: float = 0.02,
        working_dir: str | Path | None = None,
    ) -> None:
        self._sink = sink
        self._runtime = runtime
        self.working_dir = None if working_dir is None else self._code_folder(working_dir)
        self.env = PluginEnvironment(env)
        self.job_id = job_id
        self.progress_interval = progress_interval
        self._runs_dir: Path | None = None
        self._log: RunLog | None = log

    def _code_folder(self, code: str | Path) -> Path:
        """The plugin folder ``working_dir`` names: a folder as it is, or a published
        package (an archive, its URL or ``LOCATION:CODE[@VERSION]``) verified and
        unpacked by :func:`~hoist.plugins.packaging.materialize`."""
        folder = Path(code)
        if folder.is_dir():
            return folder
        from hoist.plugins.packaging.materialize import is_package_source, materialize

        if is_package_source(code):
            return materialize(code, settings=self.runtime.settings)
        return folder

    # ------------------------------------------------------------------ wiring

    @property
    def log(self) -> RunLog:
        """Where this executor's runs can be read back: the sink when it can be read, the
        Hoist server's API when runs are posted to one, else the run store."""
        if isinstance(self._sink, RunLog):
            return self._sink
        if self._log is None:
            runtime = self.runtime
            if runtime.remote and runtime.settings.server_url:
                from hoist.runs.http_log import HttpRunLog

                self._log = HttpRunLog(runtime.settings.server_url, runtime.token)
            else:
                self._log = runtime.store
        return self._log

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

        With ``working_dir`` (a plugin folder) set, ``action_cls`` may be the name of one
        of its actions (``executor.submit('train', {...})``), and a class of that plugin
        runs as the plugin's action (its workers load the plugin from the folder).

        Raises:
            ParamsValidationError: naming every failing field.
            ActionNotFoundError: no action of that name in ``working_dir``'s plugin.
            UserInputError: an action given by name without a ``working_dir``.
            TypeError: ``action_cls`` is not an action.
        """
        if plugin is None and entrypoint is None and self.working_dir is not None:
            definition = self.working_plugin()
            name = name_in_plugin(definition, action_cls)
            if name is not None:
                return self.prepare_plugin(definition, name, params)
        if isinstance(action_cls, str):
            raise UserInputError(
                f"action '{action_cls}' is given by name: give the executor the plugin's folder "
                "(working_dir=...), or use run_plugin(plugin, action, params)"
            )
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

    def working_plugin(self) -> Any:
        """The plugin in ``working_dir`` (loaded, and cached until its files change).

        Raises:
            UserInputError: no ``working_dir`` was given.
        """
        if self.working_dir is None:
            raise UserInputError("this executor has no working_dir (a plugin folder)")
        from hoist.plugins.discovery import load_plugin

        return load_plugin(self.working_dir)

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

    def get_result(self, run_id: str | RunHandle, timeout: float | None = None) -> Any:
        """Wait for a run (started here or anywhere) and return its result.

        Raises:
            ActionFailedError: the run failed.
            RunCancelledError: it was cancelled.
            TimeoutError: still running after ``timeout`` seconds.
        """
        if isinstance(run_id, RunHandle):
            return run_id.result(timeout)
        self.sink.flush()
        return RunHandle.attach(str(run_id), self.log).result(timeout)

    def cancel(self, run_id: str) -> None:
        """Ask a run to stop at its next cancellation point."""
        self.log.request_cancel(run_id)

    # ------------------------------------------------------------------ pipelines
    def submit_pipeline(
        self,
        pipeline: PipelineLike,
        params: Mapping[str, Any] | None = None,
        *,
        resume_from: str | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
        parent: RuntimeContext | None = None,
        background: bool = True,
    ) -> RunHandle:
        """Start a pipeline run on this executor; returns its handle.

        By default this process drives the pipeline (scheduling, retries, checkpoints)
        and each node's action runs through :meth:`run_node`. A backend that runs whole
        pipelines elsewhere overrides this and ships ``pipeline.describe()``.

        Raises:
            ParamsValidationError: the first actions' params are invalid (nothing runs).
            ResumeError: ``resume_from`` cannot be resumed.
        """
        options = PipelineOptions(resume_from, allow_param_changes, force, parent, background)
        return pipeline.run_on(self, params, options)

    def context_for(self, prepared: PreparedRun) -> RuntimeContext:
        """Open ``prepared``'s run in the sink and build its context."""
        sink = self.sink
        sink.open_run(prepared.run)
        return RuntimeContext(
            prepared.run.id,
            sink,
            env=self.env,
            job_id=self.job_id,
            action_name=prepared.action_cls.action_name,
            runs_dir=self.runs_dir,
            progress_interval=self.progress_interval,
            client_factory=self.client_factory,
            settings=self.runtime.settings,
        )

    @property
    def client_factory(self) -> Callable[[RuntimeContext], Any] | None:
        """What builds each run's ``ctx.client``: a client of the configured Hoist server
        (``HOIST_SERVER_URL`` and a token), or ``None`` when there is none."""
        return server_client_factory(self.runtime)

    def _server_secrets(self) -> dict[str, str]:
        """What a worker in another process needs for ``ctx.client`` and, with
        ``HOIST_ARTIFACTS`` set, to publish its runs' artifacts (the storage variables
        and the credentials the storage config names): secret values."""
        runtime = self.runtime
        settings = runtime.settings
        secrets = settings.with_(token=runtime.token).server_environ()
        if settings.artifacts:
            from hoist.storage import load_storage_config

            secrets.update(settings.storage_environ())
            secrets.update(load_storage_config(settings=settings).credential_environ())
        return secrets

    def run_node(self, node: Any, prepared: PreparedRun, ctx: RuntimeContext) -> Any:
        """Run one pipeline node's action; its run is open (:meth:`context_for`).

        Default: in this thread, with ``ctx``. Executors whose workers are elsewhere run
        it there (see :meth:`_run_on_workers`); the node (its ``resources``) may guide
        where.
        """
        return invoke_action(prepared.action_cls, prepared.params, ctx)

    def _run_on_workers(self, prepared: PreparedRun, ctx: RuntimeContext) -> Any:
        """Run a node's action as this backend runs any action (:meth:`_execute`, on its
        workers). The node's pipeline context travels in the run's record; a cancel of
        ``ctx`` (the pipeline's, a timeout's) is passed on through :meth:`cancel`."""
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(CANCEL_POLL):
                if ctx.is_cancelled():
                    self.cancel(prepared.run.id)
                    return

        threading.Thread(target=watch, name=f"hoist-node-{prepared.run.id}", daemon=True).start()
        try:
            return self._execute(prepared)
        finally:
            stop.set()

    def shutdown(self) -> None:
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


def server_client_factory(runtime: Runtime) -> Callable[[RuntimeContext], Any] | None:
    """What builds each run's ``ctx.client`` in ``runtime``: a client of its configured
    Hoist server (``HOIST_SERVER_URL`` and a token), or ``None`` when there is none."""
    settings, token = runtime.settings, runtime.token
    if not (settings.server_url and token):
        return None
    from hoist.client.run_client import run_client_factory

    return run_client_factory(settings.server_url, token)
