"""Deploy, list, call, stop and roll back named deployments: the one service API the CLI,
the REST API and the panel call.

Every deploy is a run of kind ``deployment`` whose steps (``select``, ``snapshot``,
``build``, ``start``, ``health``) are its step and progress events, plus a record in the
``deployments`` table (:mod:`hoist.deployment.records`). Each deploy of a name makes a
new version with its own code snapshot under ``HOIST_HOME/deployments/<name>/<version>``;
`DeploymentManager.rollback` starts a previous version again from its snapshot.

Runners live in the process that started them: a runtime's manager
(``Runtime.component(DeploymentManager)``) keeps them, stops them when the runtime
closes, and the record names the owning process. Calling a deployment another process
runs is an error naming that process.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import socket
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from hoist.deployment.factory import DeploymentFactory
from hoist.deployment.models import DeployConfig
from hoist.deployment.records import DeploymentRecord, DeploymentRecords, check_name
from hoist.deployment.registry import StrategyRegistry
from hoist.deployment.software import DeployedSoftware
from hoist.errors import DeploymentError, UserInputError
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime, RuntimeBound, get_runtime
from hoist.runs.sinks.base import EventSink

__all__ = [
    "DeploymentManager",
    "deploy",
    "invoke",
    "list",
    "logs",
    "manager",
    "rollback",
    "show",
    "stop",
]

STEPS = ("select", "snapshot", "build", "start", "health")
_SKIP = shutil.ignore_patterns("__pycache__", ".git", ".venv", "*.pyc")


def process_owner() -> str:
    """This process, as records name an owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


class DeploymentManager(RuntimeBound):
    """Named, versioned deployments, and the runners this process runs.

    Args:
        runtime: where runs and records are written (the process runtime by default).
        registry: where strategies are found (the process registry by default).
        ready_timeout: seconds a new deployment has to become healthy.
    """

    def __init__(
        self,
        runtime: Runtime | None = None,
        *,
        registry: StrategyRegistry | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        self._runtime = runtime
        self._registry = registry
        self.ready_timeout = ready_timeout
        self.owner = process_owner()
        self._running: dict[str, tuple[int, DeployedSoftware]] = {}
        self._lock = threading.RLock()

    def also_report_to(self, sink: EventSink) -> None:
        """Send the events of this manager's deploy runs to ``sink`` too (a console)."""
        from hoist.runs.sinks.fanout import FanoutSink

        self._sink = FanoutSink([self.sink, sink])

    @property
    def records(self) -> DeploymentRecords:
        """The ``deployments`` table of the runtime's store."""
        return DeploymentRecords(self.runtime.store.engine)

    @property
    def registry(self) -> StrategyRegistry:
        """The strategy registry deploys choose from."""
        return self._registry or StrategyRegistry.get()

    # ------------------------------------------------------------------ deploy
    def deploy(
        self,
        target: str | Path,
        strategy: str,
        name: str | None = None,
        config: DeployConfig | None = None,
    ) -> DeploymentRecord:
        """Deploy the code folder ``target`` with ``strategy`` as a new version of ``name``.

        Args:
            target: the code folder (copied: later edits do not change this version).
            strategy: the strategy's name.
            name: the deployment's name (default: ``config.name``, else the folder's name).
            config: how to call the code (module, callable, action, app, env_vars, ...).

        Returns:
            The new version's record (``running``).

        Raises:
            UserInputError: ``target`` is not a folder, or the name is invalid.
            StrategyNotFoundError: unknown strategy (nothing recorded).
            DeploymentError: a step failed; the run is ``failed``, the record ``failed``
                and the version running before keeps running.
        """
        folder = Path(target)
        if not folder.is_dir():
            raise UserInputError(f"deployment target {str(target)!r} is not a folder")
        config = config if config is not None else DeployConfig()
        if not isinstance(config, DeployConfig):
            raise TypeError(f"config must be a DeployConfig, got {type(config).__name__}")
        name = check_name(name if name is not None else config.name or folder.resolve().name)
        self.registry.get_strategy(strategy)  # unknown: an error listing the available
        stored = config.model_dump(mode="json", exclude={"code_path", "name"}, exclude_unset=True)
        run, ctx = self._open_run(name, strategy, {"target": str(folder), **stored})
        record = self.records.add(
            DeploymentRecord(name=name, version=0, strategy=strategy, status="deploying",
                             run_id=run.id, owner=self.owner, snapshot="", config=stored)
        )  # fmt: skip
        snapshot = self.runtime.settings.home / "deployments" / name / str(record.version)
        self.records.update(name, record.version, snapshot=str(snapshot))
        run.meta.update(version=record.version)

        def copy() -> None:
            if snapshot.exists():
                shutil.rmtree(snapshot)
            shutil.copytree(folder, snapshot, ignore=_SKIP)

        return self._start(record.model_copy(update={"snapshot": str(snapshot)}), ctx, copy)

    def rollback(self, name: str, version: int | None = None) -> DeploymentRecord:
        """Start a previous version of ``name`` again from its snapshot (a new run).

        Args:
            version: the version to return to (default: the newest one older than the
                current version that once ran).

        Raises:
            DeploymentNotFoundError: no such deployment or version.
            UserInputError: nothing to roll back to, or its snapshot is gone.
            DeploymentError: it did not start (the current version keeps running).
        """
        versions = self.records.versions(check_name(name))
        current = self.records.get(name)  # unknown name: not found
        if version is None:
            older = [r for r in versions if r.version < current.version
                     and r.status in ("replaced", "stopped")]  # fmt: skip
            if not older:
                raise UserInputError(
                    f"deployment {name!r} has no earlier version that ran to roll back to "
                    f"(current: v{current.version})"
                )
            target = older[-1]
        else:
            target = self.records.get(name, version)
        if target.status == "running":
            raise UserInputError(f"deployment {name!r} v{target.version} is running already")
        if target.status == "failed" or not Path(target.snapshot).is_dir():
            why = "its deploy failed" if target.status == "failed" else "its snapshot is gone"
            raise UserInputError(f"cannot roll back {name!r} to v{target.version}: {why}")
        params = {"rollback_to": target.version, "from": current.version, **target.config}
        run, ctx = self._open_run(name, target.strategy, params, version=target.version)
        self.records.update(name, target.version, run_id=run.id)
        return self._start(target.model_copy(update={"run_id": run.id}), ctx, None)

    def _open_run(
        self, name: str, strategy: str, params: dict[str, Any], version: int | None = None
    ) -> tuple[Run, RuntimeContext]:
        meta: dict[str, Any] = {"deployment": name, "owner": self.owner}
        if version is not None:
            meta["version"] = version
        run = Run(id=new_run_id(), kind=RunKind.DEPLOYMENT, plugin=name, action=strategy,
                  mode="deploy", params=params, meta=meta)  # fmt: skip
        self.sink.open_run(run)
        ctx = RuntimeContext(run.id, self.sink, action_name="deploy",
                             runs_dir=self.runtime.runs_dir, progress_interval=0)  # fmt: skip
        ctx.emit_status(RunStatus.RUNNING)
        return run, ctx

    def _start(self, record: DeploymentRecord, ctx: RuntimeContext, copy: Any) -> DeploymentRecord:
        """Run the deploy's steps for ``record``; record the outcome."""
        software: DeployedSoftware | None = None
        step = STEPS[0]
        config = DeployConfig(**record.config, code_path=record.snapshot, name=record.name)
        try:
            for index, step in enumerate(STEPS):
                if step == "snapshot" and copy is None:
                    ctx.emit_step(step, "skipped", detail=f"reusing {record.snapshot}")
                    continue
                ctx.emit_step(step, "started")
                detail = None
                if step == "select":
                    detail = self.registry.get_strategy(record.strategy).description or None
                elif step == "snapshot":
                    copy()
                    detail = record.snapshot
                elif step == "build":
                    software = DeploymentFactory.create(record.strategy, config,
                                                        registry=self.registry)  # fmt: skip
                elif step == "start":
                    assert software is not None
                    software.start()
                elif step == "health":
                    assert software is not None
                    software.wait_ready(self.ready_timeout)
                ctx.emit_step(step, "finished", detail=detail)
                ctx.set_progress(index + 1, len(STEPS), category="deploy")
        except Exception as exc:
            self._failed(record, ctx, step, exc, software)
        assert software is not None
        with self._lock:
            previous = self._running.pop(record.name, None)
            self._running[record.name] = (record.version, software)
        if previous is not None and previous[0] != record.version:
            previous[1].stop()
        for other in self.records.versions(record.name):
            if other.version != record.version and other.status == "running":
                self.records.update(record.name, other.version, status="replaced",
                                    health="unknown")  # fmt: skip
        done = self.records.update(record.name, record.version, status="running",
                                   health="healthy", endpoint=software.endpoint,
                                   owner=self.owner, error=None)  # fmt: skip
        ctx.emit_result(done.model_dump(mode="json", exclude={"config"}))
        ctx.emit_status(RunStatus.SUCCEEDED)
        self.sink.flush()
        return done

    def _failed(
        self,
        record: DeploymentRecord,
        ctx: RuntimeContext,
        step: str,
        exc: Exception,
        software: DeployedSoftware | None,
    ) -> NoReturn:
        message = f"{type(exc).__name__}: {exc}"
        if software is not None:
            try:
                software.stop()
            except Exception as stop_error:  # the deploy's error is the one to report
                ctx.emit_log(f"stopping after the failure failed: {stop_error}", "WARNING")
        ctx.emit_step(step, "failed", detail=message)
        tb = "".join(traceback.format_exception(exc))
        ctx.emit_error(type(exc).__name__, str(exc), tb)
        ctx.emit_status(RunStatus.FAILED)
        self.sink.flush()
        with self._lock:
            ours = self._running.get(record.name)
        if ours is not None and ours[0] == record.version:  # a rollback of the running one
            with self._lock:
                self._running.pop(record.name, None)
            ours[1].stop()
        # A new version is failed; a version rolled back to keeps its status (and snapshot).
        status = "failed" if record.status == "deploying" else record.status
        self.records.update(record.name, record.version, status=status, health="unknown",
                            error=f"{step}: {message}")  # fmt: skip
        raise DeploymentError(
            f"deployment {record.name!r} v{record.version} failed at step {step!r}: "
            f"{message} (run {ctx.run_id})",
            strategy=record.strategy,
        ) from exc

    # ------------------------------------------------------------------ reads and calls
    def list(self) -> builtins.list[DeploymentRecord]:
        """Each deployment's current version (health checked for the ones run here)."""
        return [self._with_health(record) for record in self.records.current()]

    def show(self, name: str, version: int | None = None) -> DeploymentRecord:
        """A deployment's current version (or ``version``), health checked if run here.

        Raises:
            DeploymentNotFoundError: no such deployment or version.
        """
        return self._with_health(self.records.get(name, version))

    def versions(self, name: str) -> builtins.list[DeploymentRecord]:
        """Every version of ``name``, oldest first."""
        self.records.get(name)  # unknown name: not found
        return self.records.versions(name)

    def invoke(self, name: str, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Call the running version of ``name``; the envelope it answers.

        Raises:
            DeploymentNotFoundError: no such deployment.
            DeploymentError: it is not running, or another process runs it.
        """
        return self._software(name).run(inputs)

    def logs(self, name: str) -> str:
        """The running version's logs (its runner's)."""
        return self._software(name).logs()

    def stop(self, name: str) -> DeploymentRecord:
        """Stop the running version of ``name`` (its record becomes ``stopped``).

        Raises:
            DeploymentError: another process runs it.
        """
        record = self.records.get(name)
        if record.status != "running":
            return record
        self._software(name)  # another process's: an error naming it
        with self._lock:
            _, software = self._running.pop(name)
        software.stop()
        return self.records.update(name, record.version, status="stopped", health="unknown")

    def _software(self, name: str) -> DeployedSoftware:
        record = self.records.get(name)
        if record.status != "running":
            raise DeploymentError(
                f"deployment {name!r} is not running (v{record.version} is {record.status})",
                strategy=record.strategy,
            )
        with self._lock:
            ours = self._running.get(name)
        if ours is None or ours[0] != record.version:
            raise DeploymentError(
                f"deployment {name!r} v{record.version} runs in process {record.owner}, not "
                f"in this one ({self.owner}); call it there"
                + (f" or at {record.endpoint}" if record.endpoint else ""),
                strategy=record.strategy,
            )
        return ours[1]

    def _with_health(self, record: DeploymentRecord) -> DeploymentRecord:
        with self._lock:
            ours = self._running.get(record.name)
        if record.status != "running" or ours is None or ours[0] != record.version:
            return record
        health = "healthy" if ours[1].is_healthy() else "unhealthy"
        if health != record.health:
            return self.records.update(record.name, record.version, health=health)
        return record

    def close(self) -> None:
        """Stop every deployment this process runs (their records become ``stopped``)."""
        with self._lock:
            running, self._running = self._running, {}
        for name, (version, software) in running.items():
            software.stop()
            # The store may be gone already; the runner is stopped either way.
            with contextlib.suppress(Exception):
                self.records.update(name, version, status="stopped", health="unknown")


# ---------------------------------------------------------------------- the process API
def manager() -> DeploymentManager:
    """The process runtime's deployment manager."""
    return get_runtime().component(DeploymentManager)


def deploy(
    target: str | Path,
    strategy: str,
    name: str | None = None,
    config: DeployConfig | None = None,
) -> DeploymentRecord:
    """`DeploymentManager.deploy` on the process runtime's manager."""
    return manager().deploy(target, strategy, name, config)


def list() -> builtins.list[DeploymentRecord]:
    """`DeploymentManager.list` on the process runtime's manager."""
    return manager().list()


def show(name: str, version: int | None = None) -> DeploymentRecord:
    """`DeploymentManager.show` on the process runtime's manager."""
    return manager().show(name, version)


def invoke(name: str, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`DeploymentManager.invoke` on the process runtime's manager."""
    return manager().invoke(name, inputs)


def stop(name: str) -> DeploymentRecord:
    """`DeploymentManager.stop` on the process runtime's manager."""
    return manager().stop(name)


def rollback(name: str, version: int | None = None) -> DeploymentRecord:
    """`DeploymentManager.rollback` on the process runtime's manager."""
    return manager().rollback(name, version)


def logs(name: str) -> str:
    """`DeploymentManager.logs` on the process runtime's manager."""
    return manager().logs(name)
