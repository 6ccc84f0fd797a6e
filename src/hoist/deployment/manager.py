"""Deploy, list, call, stop and roll back named deployments: the one service API the CLI,
the REST API and the panel call.

Every deploy is a run of kind ``deployment`` whose steps (``select``, ``snapshot``,
``build``, ``start``, ``health``) are its step and progress events, plus a record in the
``deployments`` table (:mod:`hoist.deployment.records`). Each deploy of a name makes a
new version with its own code snapshot under ``HOIST_HOME/deployments/<name>/<version>``;
`DeploymentManager.rollback` starts a previous version again from its snapshot.

Runners live in the process that started them: a runtime's manager
(``Runtime.component(DeploymentManager)``) keeps them, stops them when the runtime
closes, and the record names the owning process. Listing, showing, calling and reading
the logs of a deployment work from any process (:mod:`hoist.deployment.calls`); a record
whose process on this host exited is marked ``stopped`` (:mod:`hoist.deployment.liveness`).

``deploy(..., strategy="auto")`` lets the selector (:func:`hoist.deployment.selector.select`)
choose in the ``select`` step (its detail is the selection's reasoning); the record keeps
the chosen strategy.
"""

from __future__ import annotations

import builtins
import contextlib
import shutil
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from hoist.deployment.calls import DeploymentCalls
from hoist.deployment.factory import DeploymentFactory, check_settings
from hoist.deployment.liveness import process_owner
from hoist.deployment.models import DeployConfig
from hoist.deployment.records import DeploymentRecord, check_name
from hoist.deployment.registry import StrategyRegistry
from hoist.deployment.software import DeployedSoftware
from hoist.errors import DeploymentError, UserInputError
from hoist.plugins.context import RuntimeContext
from hoist.runs.models import Run, RunKind, RunStatus, new_run_id
from hoist.runs.runtime import Runtime, get_runtime
from hoist.runs.sinks.base import EventSink

__all__ = [
    "DeploymentManager",
    "deploy",
    "invoke",
    "list",
    "logs",
    "manager",
    "process_owner",
    "rollback",
    "show",
    "stop",
]

STEPS = ("select", "snapshot", "build", "start", "health")
_SKIP = shutil.ignore_patterns("__pycache__", ".git", ".venv", "*.pyc")


class DeploymentManager(DeploymentCalls):
    """Named, versioned deployments, and the runners this process runs (deploy, roll back
    and close here; list, show, invoke, logs and stop in `DeploymentCalls`).

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
            strategy: the strategy's name; ``"auto"``: the selector chooses in the
                ``select`` step (the record keeps its choice).
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
        strategy = self.registry.canonical(strategy)  # ray-serve is recorded ray_serve
        if strategy != "auto":
            self.registry.get_strategy(strategy)  # unknown: an error listing the available
            check_settings(self.registry, strategy, config.settings)
        stored = config.model_dump(
            mode="json", exclude={"code_path", "name", "log_path"}, exclude_unset=True
        )
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

        record = record.model_copy(update={"snapshot": str(snapshot)})
        return self._start(record, ctx, copy, source=folder)

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
        target = target.model_copy(update={"run_id": run.id})
        return self._start(target, ctx, None, source=Path(target.snapshot))

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

    def _start(
        self,
        record: DeploymentRecord,
        ctx: RuntimeContext,
        copy: Callable[[], None] | None,
        *,
        source: Path,
    ) -> DeploymentRecord:
        """Run the deploy's steps for ``record`` (whose code is ``source`` until the
        snapshot is taken); record the outcome."""
        software: DeployedSoftware | None = None
        step = STEPS[0]
        given = {k: v for k, v in record.config.items() if k in DeployConfig.model_fields}
        log_path = str(record.log_path) if record.log_path is not None else None
        config = DeployConfig(**given, code_path=record.snapshot, name=record.name,
                              log_path=log_path)  # fmt: skip
        try:
            for index, step in enumerate(STEPS):
                if step == "snapshot" and copy is None:
                    ctx.emit_step(step, "skipped", detail=f"reusing {record.snapshot}")
                    continue
                ctx.emit_step(step, "started")
                detail = None
                if step == "select":
                    record, detail = self._select(record, config, source)
                elif step == "snapshot":
                    assert copy is not None
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
        # What another process needs to attach (a Serve app's cluster and name, ...).
        record_config = getattr(software.runner, "record_config", None)
        extra = record_config() if callable(record_config) else {}
        done = self.records.update(record.name, record.version, status="running",
                                   health="healthy", endpoint=software.endpoint,
                                   owner=self.owner, error=None,
                                   input_schema=software.input_schema(),
                                   config={**record.config, **extra})  # fmt: skip
        ctx.emit_result(done.model_dump(mode="json", exclude={"config"}))
        ctx.emit_status(RunStatus.SUCCEEDED)
        self.sink.flush()
        return done

    def _select(
        self, record: DeploymentRecord, config: DeployConfig, source: Path
    ) -> tuple[DeploymentRecord, str | None]:
        """The ``select`` step: the named strategy's description, or for ``"auto"`` the
        selector's choice (recorded) and its reasoning."""
        if record.strategy != "auto":
            return record, self.registry.get_strategy(record.strategy).description or None
        from hoist.deployment.selector import select

        setting = select(config.model_copy(update={"code_path": str(source)}),
                         registry=self.registry)  # fmt: skip
        chosen = self.records.update(record.name, record.version, strategy=setting.strategy)
        return record.model_copy(update={"strategy": chosen.strategy}), setting.reasoning

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
