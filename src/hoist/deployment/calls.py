"""Reading and calling named deployments from any process: the half of
`hoist.deployment.manager.DeploymentManager` that lists, shows, invokes, reads logs and
stops.

A deployment this process runs is called through its own runner. One another process (or
a cluster) runs is reached through its strategy's `Runner.attach`, else through its
endpoint (`hoist.deployment.remote.EndpointRunner`), else it is an error naming the
process that runs it. Its logs come from that runner, else from the tail of its log file
(`DeploymentRecord.log_path`). Records whose process on this host has exited are marked
``stopped`` as they are read (`hoist.deployment.liveness.sweep`).
"""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Mapping
from typing import Any

from hoist.deployment.base import Runner
from hoist.deployment.envelope import error_envelope
from hoist.deployment.liveness import sweep
from hoist.deployment.records import DeploymentRecord, DeploymentRecords
from hoist.deployment.registry import StrategyRegistry
from hoist.deployment.remote import EndpointRunner
from hoist.deployment.software import DeployedSoftware, normalize
from hoist.errors import DeploymentError
from hoist.runs.runtime import RuntimeBound

__all__ = ["LOG_TAIL", "DeploymentCalls", "read_tail"]

LOG_TAIL = 64 * 1024
"""How much of a log file `DeploymentCalls.logs` reads (its end)."""


def read_tail(path: os.PathLike[str] | str, size: int = LOG_TAIL) -> str:
    """The last ``size`` bytes of the file at ``path``, decoded (bad bytes replaced)."""
    with open(path, "rb") as log:
        end = log.seek(0, os.SEEK_END)
        log.seek(max(0, end - size))
        return log.read().decode("utf-8", "replace")


class DeploymentCalls(RuntimeBound):
    """List, show, call, read and stop named deployments, wherever they run.

    The base of `hoist.deployment.manager.DeploymentManager`, which sets ``owner``,
    ``_running`` (name → (version, software) this process runs), ``_lock`` and
    ``_registry``.
    """

    owner: str
    _running: dict[str, tuple[int, DeployedSoftware]]
    _lock: threading.RLock
    _registry: StrategyRegistry | None = None

    @property
    def records(self) -> DeploymentRecords:
        """The ``deployments`` table of the runtime's store."""
        return DeploymentRecords(self.runtime.store.engine)

    @property
    def registry(self) -> StrategyRegistry:
        """The strategy registry deploys choose from."""
        return self._registry or StrategyRegistry.get()

    # ------------------------------------------------------------------ reads
    def list(self) -> builtins.list[DeploymentRecord]:
        """Each deployment's current version (swept, and its health checked)."""
        return [self._with_health(self._current(record.name)) for record in self.records.current()]

    def show(self, name: str, version: int | None = None) -> DeploymentRecord:
        """A deployment's current version (or ``version``), swept and health checked.

        Raises:
            DeploymentNotFoundError: no such deployment or version.
        """
        if version is None:
            return self._with_health(self._current(name))
        return self._with_health(sweep(self.records, self.records.get(name, version)))

    def versions(self, name: str) -> builtins.list[DeploymentRecord]:
        """Every version of ``name``, oldest first."""
        self._current(name)  # unknown name: not found; a dead owner's: stopped
        return self.records.versions(name)

    def _current(self, name: str) -> DeploymentRecord:
        record = self.records.get(name)
        swept = sweep(self.records, record)
        return self.records.get(name) if swept is not record else record

    # ------------------------------------------------------------------ calls
    def invoke(self, name: str, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Call the running version of ``name``; the envelope it answers.

        Raises:
            DeploymentNotFoundError: no such deployment.
            DeploymentError: it is not running, or it runs elsewhere and cannot be reached
                from here (naming where it runs).
        """
        record = self._running_record(name)
        ours = self._ours(record)
        if ours is not None:
            return ours.run(inputs)
        if inputs is not None and not isinstance(inputs, Mapping):
            kind = type(inputs).__name__
            return error_envelope("TypeError", f"inputs must be a mapping of names, got {kind}")
        runner = self._remote(record)
        try:
            return normalize(runner.run(dict(inputs or {})))
        finally:
            _close(runner)

    def logs(self, name: str) -> str:
        """The current version's logs: its runner's when this process (or its strategy's
        `Runner.attach`) has one, else the tail of its log file.

        Raises:
            DeploymentError: no runner here and no log file (naming where it runs).
        """
        record = self._current(name)
        ours = self._ours(record)
        if ours is not None:
            return ours.logs()
        attached = self._attach(record) if record.status == "running" else None
        if attached is not None:
            try:
                return attached.get_logs() or ""
            finally:
                _close(attached)
        path = record.log_path
        if path is not None and path.is_file():
            return read_tail(path)
        raise DeploymentError(
            f"deployment {name!r} v{record.version} has no logs here: it {_where(record)}, "
            "and there is no log file" + (f" at {path}" if path is not None else ""),
            strategy=record.strategy,
        )

    def is_healthy(self, name: str) -> bool:
        """Whether the current version of ``name`` runs and answers its health check."""
        return self.show(name).health == "healthy"

    def stop(self, name: str) -> DeploymentRecord:
        """Stop the running version of ``name`` (its record becomes ``stopped``).

        Raises:
            DeploymentError: another process runs it and its strategy cannot stop it
                from here (naming that process).
        """
        record = self._current(name)
        if record.status != "running":
            return record
        ours = self._ours(record)
        if ours is not None:
            with self._lock:
                self._running.pop(name, None)
            ours.stop()
        else:
            attached = self._attach(record)
            if attached is None:
                raise DeploymentError(
                    f"deployment {name!r} v{record.version} {_where(record)}; stop it there",
                    strategy=record.strategy,
                )
            attached.stop()
        return self.records.update(name, record.version, status="stopped", health="unknown")

    # ------------------------------------------------------------------ internals
    def _running_record(self, name: str) -> DeploymentRecord:
        record = self._current(name)
        if record.status != "running":
            why = f" ({record.error})" if record.error else ""
            raise DeploymentError(
                f"deployment {name!r} is not running (v{record.version} is {record.status}{why})",
                strategy=record.strategy,
            )
        return record

    def _ours(self, record: DeploymentRecord) -> DeployedSoftware | None:
        with self._lock:
            ours = self._running.get(record.name)
        if ours is None or ours[0] != record.version:
            return None
        return ours[1]

    def _attach(self, record: DeploymentRecord) -> Runner | None:
        try:
            runner_class = self.registry.get_runner_class(record.strategy)
        except Exception:  # a strategy gone or broken here: its endpoint may still answer
            return None
        return runner_class.attach(record)

    def _remote(self, record: DeploymentRecord) -> Runner:
        """A runner for ``record`` run elsewhere: attached, else its endpoint's."""
        attached = self._attach(record)
        if attached is not None:
            return attached
        if record.endpoint:
            config = record.config
            return EndpointRunner(
                record.endpoint,
                str(config.get("predict_path") or "/predict"),
                str(config.get("health_path") or "/health"),
                timeout=float(config.get("timeout") or 300.0),
                owner=record.owner,
                strategy=record.strategy,
            )
        raise DeploymentError(
            f"deployment {record.name!r} v{record.version} {_where(record)}; call it there, "
            "or deploy with a strategy that has an endpoint (process)",
            strategy=record.strategy,
        )

    def _with_health(self, record: DeploymentRecord) -> DeploymentRecord:
        if record.status != "running":
            return record
        ours = self._ours(record)
        if ours is not None:
            healthy = ours.is_healthy()
        else:
            try:
                runner = self._remote(record)
            except DeploymentError:  # nothing here can ask it: keep what was recorded
                return record
            try:
                healthy = bool(runner.is_healthy())
            except Exception:
                healthy = False
            finally:
                _close(runner)
        health = "healthy" if healthy else "unhealthy"
        if health != record.health:
            return self.records.update(record.name, record.version, health=health)
        return record


def _where(record: DeploymentRecord) -> str:
    """``it runs inside process X`` (``owner`` names it), for errors."""
    return f"runs inside process {record.owner or '(unknown)'}, not this one"


def _close(runner: Runner) -> None:
    close = getattr(runner, "close", None)
    if callable(close):
        close()
