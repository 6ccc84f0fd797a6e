"""``RayJobExecutor`` (``mode='job'``): each action run as its own Ray Job.

A job is isolated (its own process and runtime environment: requirements install per
job) at the price of a process start. The run is recorded (``queued``) before its job is
submitted; the job's entrypoint (:mod:`hoist.executors.ray.job_entry`) writes every event
and the result to the run store, and the driver reads them there: no log scraping. The
driver watches the store (a cheap indexed read every ``poll_interval``) and the job's
status (every ``job_check_interval``), so a job that dies before it records anything (a
requirement that fails to install, a killed node) still ends its run in bounded time.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hoist.errors import (
    ActionFailedError,
    HoistError,
    ParamsValidationError,
    ResultValidationError,
    RunCancelledError,
    RunLostError,
)
from hoist.executors.base import Executor, PreparedRun
from hoist.executors.handle import RunHandle
from hoist.executors.job_status import JobStatus
from hoist.executors.ray.connect import (
    on_this_machine,
    runtime_env_reason,
)
from hoist.executors.ray.job_support import (
    OnTheWorker,
    given_params,
    jobs_api_client,
    run_fields,
    tail_job_logs,
    withheld_params,
)
from hoist.executors.ray.packaging import (
    DEFAULT_EXCLUDES,
    PackageOptions,
    plugin_runtime_env_from_config,
)
from hoist.executors.ray.staging import JobDescription, stage_job
from hoist.plugins.invoke import worker_params
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id

__all__ = ["RayJobExecutor", "job_id_for"]

_TERMINAL_JOB = {"SUCCEEDED", "FAILED", "STOPPED"}


def job_id_for(run_id: str) -> str:
    """The Ray Job submission id of a run (derived, so any process can find the job)."""
    return f"hoist-{run_id}"


class RayJobExecutor(Executor):
    """Run each action as an isolated Ray Job.

    Args:
        address: the cluster: its dashboard URL (``http://host:8265``) or GCS address
            (``host:6379``); default ``HOIST_RAY_ADDRESS``, else a private local Ray.
        dashboard_url: the seed's name for a dashboard ``address``.
        entrypoint_num_cpus, entrypoint_num_gpus, entrypoint_memory: resources reserved
            for the job's process.
        runtime_env: extra Ray runtime environment for the job.
        package: options for shipping plugin folders (size limit, excludes, env
            allow-list).
        secrets: environment variables set in the job's process; they travel in a file
            inside the job's package, never in the job record.
        python: the interpreter that starts the job (default: this interpreter when the
            cluster is on this machine and the job installs no requirements, else the
            ``python`` on the workers' ``PATH``).
        ship: copy plugin folders to the cluster (default: only for a remote cluster).
        poll_interval: how often (s) the driver reads the run's status from the store.
        job_check_interval: how often (s) it asks Ray for the job's status.
        **kwargs: see :class:`~hoist.executors.base.Executor` (``working_dir``: the
            plugin folder, so ``submit('train', {...})`` names its action, or a
            published package).

    Example (the seed's job API)::

        executor = RayJobExecutor(dashboard_url="http://localhost:8265", working_dir="plugin/")
        job_id = executor.submit("train", {"epochs": 100})
        executor.get_status(job_id)  # JobStatus.RUNNING ... SUCCEEDED
        run = executor.wait(job_id, timeout_seconds=3600)
    """

    mode = "job"

    def __init__(
        self,
        *,
        address: str | None = None,
        dashboard_url: str | None = None,
        entrypoint_num_cpus: float = 0,
        entrypoint_num_gpus: float = 0,
        entrypoint_memory: int = 0,
        runtime_env: Mapping[str, Any] | None = None,
        package: PackageOptions | None = None,
        secrets: Mapping[str, str] | None = None,
        python: str | None = None,
        ship: bool | None = None,
        ray_num_cpus: int = 2,
        poll_interval: float = 0.01,
        job_check_interval: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.address = address or dashboard_url
        self.resources = {
            "entrypoint_num_cpus": entrypoint_num_cpus,
            "entrypoint_num_gpus": entrypoint_num_gpus,
            "entrypoint_memory": entrypoint_memory,
        }
        self.runtime_env = dict(runtime_env or {})
        self.package = package or PackageOptions()
        self.secrets = dict(secrets or {})
        self.python = python
        self.ship = ship
        self.ray_num_cpus = ray_num_cpus
        self.poll_interval = poll_interval
        self.job_check_interval = job_check_interval
        self._client: Any = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ cluster
    @property
    def cluster_address(self) -> str | None:
        """The configured cluster address (``None``: a private local Ray)."""
        return self.address or self.runtime.settings.ray_address

    def client(self) -> Any:
        """The Ray ``JobSubmissionClient`` of the cluster (connected on first use)."""
        with self._lock:
            if self._client is None:
                self._client = jobs_api_client(self.cluster_address, self.ray_num_cpus)
            return self._client

    def _local_cluster(self) -> bool:
        return on_this_machine(self.cluster_address)

    # ------------------------------------------------------------------ submitting
    def prepare_plugin(
        self, plugin: Any, action: str, params: BaseModel | Mapping[str, Any] | None = None
    ) -> PreparedRun:
        """Prepare a plugin's action without importing it: the job's worker imports it
        (with the requirements the job installs) and validates the params; a bad param
        fails the run with every field named (:class:`ParamsValidationError`).

        The driver never imports the plugin's code, so its heavy dependencies need not
        be installed here; the result comes back as JSON data. Nor can it tell which
        params are secret: the run is recorded with their values withheld, the params
        travel in the job's secrets file, and the worker records them, secrets masked,
        once it has validated them.
        """
        plugin.action_config(action)  # an unknown action fails here, naming the known ones
        run = Run(
            id=new_run_id(), kind=RunKind.ACTION, plugin=plugin.code, action=action,
            mode=self.mode, params=withheld_params(params),
            meta={"plugin_path": str(plugin.root)} if plugin.root is not None else {},
        )  # fmt: skip
        return PreparedRun(OnTheWorker, given_params(params), run, plugin.entrypoint(action))

    def _start(self, prepared: PreparedRun) -> str:
        """Record the run, stage its package and submit its job; returns the job id."""
        run = prepared.run
        submission_id = job_id_for(run.id)
        run.meta["ray_job_id"] = submission_id
        self.sink.open_run(run)
        self.sink.flush()  # the run exists (queued) before its job does
        try:
            client = self.client()
            runtime_env, staging = self._stage(prepared)
        except HoistError as exc:
            self.runtime.store.end_run(run.id, RunStatus.FAILED, type(exc).__name__, str(exc))
            raise
        uploaded = runtime_env.get("working_dir") == str(staging)
        command = f"{self._python(runtime_env)} -m hoist.executors.ray.job_entry"
        if not uploaded:
            command += f" {shlex.quote(str(staging))}"
        try:
            client.submit_job(
                entrypoint=command,
                submission_id=submission_id,
                runtime_env=runtime_env,
                metadata={"hoist_run_id": run.id, "hoist_action": run.action or ""},
                **{k: v for k, v in self.resources.items() if v},
            )
        except Exception as exc:
            message = f"Ray refused the job for run {run.id}: {exc}"
            self.runtime.store.end_run(run.id, RunStatus.FAILED, "RayJobSubmitError", message)
            raise ActionFailedError(run.id, "RayJobSubmitError", message) from None
        finally:
            if uploaded:
                shutil.rmtree(staging, ignore_errors=True)  # Ray has its copy
        return submission_id

    def _stage(self, prepared: PreparedRun) -> tuple[dict[str, Any], Path]:
        run = prepared.run
        plugin_path = run.meta.get("plugin_path")
        ship = self.ship if self.ship is not None else not self._local_cluster()
        env = dict(self.runtime_env)
        excludes = [*DEFAULT_EXCLUDES, *self.package.excludes, *env.pop("excludes", [])]
        where: str | None = None
        if plugin_path:
            from hoist.plugins.discovery import load_plugin

            config = load_plugin(plugin_path).config
            env = plugin_runtime_env_from_config(
                Path(plugin_path), config, extra=env, options=self.package, ship=ship
            )
            excludes = list(env.pop("excludes", excludes))
            where = "@working_dir" if ship else str(Path(plugin_path).resolve())
            entrypoint = prepared.entrypoint or ""
        else:
            from hoist.executors.ray.task import action_entrypoint

            entrypoint = action_entrypoint(prepared.action_cls)
        settings = self.runtime.settings
        job = JobDescription(
            entrypoint=entrypoint, action=run.action or prepared.action_cls.action_name,
            plugin_path=where, run=run_fields(run), params=worker_params(prepared.params),
            env=dict(self.env),
            store_url=settings.store_url, home=str(settings.home.resolve()),
            progress_interval=self.progress_interval,
        )  # fmt: skip
        if not ship:  # the workers share this file system: no upload
            staging = stage_job(
                job,
                secrets={**self._server_secrets(), **self.secrets},
                into=self.runs_dir / run.id / "job",
            )
            return env, staging
        staging = stage_job(
            job,
            secrets={**self._server_secrets(), **self.secrets},
            plugin_root=Path(plugin_path) if plugin_path else None,
            excludes=excludes,
        )
        env["working_dir"] = str(staging)
        return env, staging

    def _python(self, runtime_env: Mapping[str, Any]) -> str:
        if self.python:
            return self.python
        if self._local_cluster() and not ({"pip", "uv", "conda"} & runtime_env.keys()):
            return shlex.quote(sys.executable)
        return "python"

    def _execute(self, prepared: PreparedRun) -> Any:
        self._start(prepared)
        return self._typed(prepared, self._watch(prepared.run.id))

    def _submit(self, prepared: PreparedRun) -> RunHandle:
        self._start(prepared)
        future: Future[Any] = Future()

        def wait() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._typed(prepared, self._watch(prepared.run.id)))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=wait, name=f"hoist-job-{prepared.run.id}", daemon=True).start()
        return RunHandle(
            prepared.run.id, self.log, future=future,
            canceller=lambda: self.stop(prepared.run.id), flush=self.sink.flush,
            initial=prepared.run,
        )  # fmt: skip

    def run_node(self, node: Any, prepared: PreparedRun, ctx: Any) -> Any:
        """A pipeline node's action runs as its own Ray Job, like any run."""
        return self._run_on_workers(prepared, ctx)

    # ------------------------------------------------------------------ following
    def _watch(self, run_id: str, timeout: float | None = None) -> Run:
        """Block until the run ends (reconciling with its job); returns its record."""
        store = self.runtime.store
        deadline = None if timeout is None else time.monotonic() + timeout
        next_job_check = time.monotonic() + self.job_check_interval
        while True:
            run = store.get_run(run_id)
            if run.status.is_terminal:
                return run
            now = time.monotonic()
            if now >= next_job_check:
                if self._reconcile(run_id):
                    return store.get_run(run_id)
                next_job_check = now + self.job_check_interval
            if deadline is not None and now >= deadline:
                raise TimeoutError(f"run {run_id} still running after {timeout}s")
            time.sleep(self.poll_interval)

    def _reconcile(self, run_id: str) -> bool:
        """End the run from its job's status when the job ended without recording an
        end (it never started, or its process died); True once the run has ended."""
        store = self.runtime.store
        info = self.client().get_job_info(job_id_for(run_id))
        status = str(getattr(info.status, "value", info.status))
        if status not in _TERMINAL_JOB:
            return False
        if store.get_run(run_id).status.is_terminal:  # the entrypoint got there first
            return True
        message = str(info.message or "")
        if status == "STOPPED":
            store.end_run(run_id, RunStatus.CANCELLED, "RayJobStopped", "the Ray job was stopped")
        elif status == "FAILED" and "runtime_env" in message.lower():
            reason = runtime_env_reason(message)
            store.end_run(run_id, RunStatus.FAILED, "RuntimeEnvSetupError", reason)
        elif store.get_run(run_id).status is RunStatus.RUNNING:  # its process died
            why = message.strip() or "no message"
            reason = f"the Ray job's process ended ({status}) before the run did: {why}"
            store.end_run(run_id, RunStatus.LOST, "RunLost", reason)
        else:
            why = message.strip() or "no message"
            reason = f"the Ray job ended ({status}) before the run started: {why}"
            store.end_run(run_id, RunStatus.FAILED, "RayJobEnded", reason)
        return True

    def _typed(self, prepared: PreparedRun, run: Run) -> Any:
        if run.status is RunStatus.SUCCEEDED:
            model = prepared.action_cls.result_model
            return run.result if model is None else model.model_validate(run.result)
        if run.status is RunStatus.CANCELLED:
            raise RunCancelledError(run.id)
        error = run.error or {}
        if error.get("type") == "ParamsValidationError" and error.get("field_errors"):
            raise ParamsValidationError(error["field_errors"])
        if run.status is RunStatus.LOST:
            raise RunLostError(run.id, str(error.get("message", "its worker died")))
        if error.get("type") == "ResultValidationError" and error.get("field_errors"):
            raise ResultValidationError(run.id, error["field_errors"])
        raise ActionFailedError(
            run.id, str(error.get("type", run.status.value)), str(error.get("message", "")),
            str(error.get("traceback", "")),
        )  # fmt: skip

    # ------------------------------------------------------------------ public API
    def get_status(self, job_id: str) -> JobStatus:
        """The job's status in the seed's words (``PENDING``, ``RUNNING``, ``SUCCEEDED``,
        ``FAILED``, ``STOPPED``), reconciled with Ray's; ``job_id`` is what
        :meth:`submit` returned (a handle, which is the run's id). The run's own
        :class:`RunStatus` is ``handle.status``."""
        return JobStatus.of(self.get_run_status(job_id))

    def get_run_status(self, run_id: str) -> RunStatus:
        """The run's :class:`RunStatus`, reconciled with its job's."""
        run = self.runtime.store.get_run(run_id)
        if not run.status.is_terminal and self._reconcile(run_id):
            run = self.runtime.store.get_run(run_id)
        return run.status

    def wait(
        self, run_id: str, timeout: float | None = None, *, timeout_seconds: float | None = None
    ) -> Run:
        """Block until the run ends; returns its final record (``.status``, ``.result``).

        Args:
            run_id: what :meth:`submit` returned, or a run id.
            timeout, timeout_seconds: the longest wait in seconds (either name).

        Raises:
            TimeoutError: still running after the timeout.
        """
        return self._watch(run_id, timeout if timeout is not None else timeout_seconds)

    def get_logs(self, run_id: str) -> str:
        """Everything the job's process printed so far."""
        logs: str = self.client().get_job_logs(job_id_for(run_id))
        return logs

    def stream_logs(self, run_id: str) -> Iterator[str]:
        """The job's output as it comes, until the job ends."""
        return tail_job_logs(self.client(), job_id_for(run_id))

    def stop(self, run_id: str) -> None:
        """Cancel the run: its action stops at the next cancellation point (the job's
        process gets ``SIGTERM``); a job still setting up is dropped."""
        self.runtime.store.request_cancel(run_id)
        with contextlib.suppress(Exception):  # the job may have ended meanwhile
            self.client().stop_job(job_id_for(run_id))

    cancel = stop
