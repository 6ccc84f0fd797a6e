"""Deployment records: one row per version of a named deployment, in the run store's
``deployments`` table (migrations 0006, 0007).

A record says what was deployed (strategy, code snapshot, config), where it answers
(endpoint), how it is (status, health), which deploy run last started it (``run_id``),
which process runs it (``owner``: ``"<hostname>:<pid>"`` for a process; any other form,
e.g. ``"ray:<address>"``, is not a process) and the JSON Schema of its inputs
(``input_schema``, when known). Its service output goes to `DeploymentRecord.log_path`.

Statuses: ``deploying`` → ``running`` → ``replaced`` (a newer version took over) |
``stopped``; ``failed`` when its deploy failed (a failed deploy leaves the version that
was running untouched).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field

from hoist.errors import DeploymentNotFoundError, UserInputError
from hoist.runs.store.schema import deployments

__all__ = [
    "NAME_PATTERN",
    "DeploymentNotFoundError",
    "DeploymentRecord",
    "DeploymentRecords",
    "DeploymentStatus",
    "check_name",
]

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
"""A deployment's name: also a folder name under ``HOIST_HOME/deployments``."""

DeploymentStatus = Literal["deploying", "running", "replaced", "stopped", "failed"]
Health = Literal["healthy", "unhealthy", "unknown"]


def check_name(name: Any) -> str:
    """``name`` when it is a valid deployment name.

    Raises:
        UserInputError: not a string of letters, digits, ``_``, ``.`` and ``-`` (at most
            100, starting with a letter or digit).
    """
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise UserInputError(
            f"invalid deployment name {name!r}: use 1-100 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


class DeploymentRecord(BaseModel):
    """One version of a named deployment, as the store keeps it."""

    name: str
    version: int
    strategy: str
    status: DeploymentStatus
    health: Health = "unknown"
    endpoint: str | None = None
    run_id: str
    owner: str | None = None
    snapshot: str
    config: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    input_schema: dict[str, Any] | None = None

    @property
    def log_path(self) -> Path | None:
        """Where its service output goes: ``<snapshot>.log``
        (``HOIST_HOME/deployments/<name>/<version>.log``); None before it has a snapshot."""
        return Path(self.snapshot + ".log") if self.snapshot else None

    def row(self) -> dict[str, Any]:
        """The ``deployments`` row."""
        schema = None if self.input_schema is None else json.dumps(self.input_schema)
        return {**self.model_dump(), "config": json.dumps(self.config), "input_schema": schema}

    @classmethod
    def from_row(cls, row: Any) -> DeploymentRecord:
        """A record from a ``deployments`` row."""
        data = dict(row._mapping)
        data["config"] = json.loads(data["config"])
        schema = data.get("input_schema")
        data["input_schema"] = json.loads(schema) if schema else None
        return cls.model_validate(data)


class DeploymentRecords:
    """The ``deployments`` table: add, update and read records.

    Args:
        engine: the run store's engine.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def add(self, record: DeploymentRecord) -> DeploymentRecord:
        """Insert ``record`` with the name's next version (set on the returned copy)."""
        for _ in range(5):  # another process may take the same version: take the next
            version = self.next_version(record.name)
            new = record.model_copy(update={"version": version})
            try:
                with self.engine.begin() as conn:
                    conn.execute(deployments.insert().values(**new.row()))
            except sa.exc.IntegrityError:
                continue
            return new
        raise UserInputError(f"deployment {record.name!r}: could not take a new version")

    def next_version(self, name: str) -> int:
        """One more than the name's newest version (1 for a new name)."""
        query = sa.select(sa.func.max(deployments.c.version)).where(deployments.c.name == name)
        with self.engine.connect() as conn:
            newest = conn.execute(query).scalar()
        return int(newest or 0) + 1

    def update(self, name: str, version: int, **changes: Any) -> DeploymentRecord:
        """Change columns of one version (``updated_at`` set); the updated record."""
        if "config" in changes:
            changes["config"] = json.dumps(changes["config"])
        if changes.get("input_schema") is not None:
            changes["input_schema"] = json.dumps(changes["input_schema"])
        changes["updated_at"] = time.time()
        where = (deployments.c.name == name) & (deployments.c.version == version)
        with self.engine.begin() as conn:
            conn.execute(deployments.update().where(where).values(**changes))
        return self.get(name, version)

    def get(self, name: str, version: int | None = None) -> DeploymentRecord:
        """A version of ``name``; without ``version`` its current one (the running
        version, else the newest).

        Raises:
            DeploymentNotFoundError: no such deployment or version (listing what exists).
        """
        versions = self.versions(name)
        if not versions:
            raise DeploymentNotFoundError(name, self.names())
        if version is None:
            return current_of(versions)
        for record in versions:
            if record.version == version:
                return record
        available = [f"{name} v{r.version}" for r in versions]
        raise DeploymentNotFoundError(f"{name} v{version}", available)

    def versions(self, name: str) -> list[DeploymentRecord]:
        """Every version of ``name``, oldest first."""
        query = (
            sa.select(deployments).where(deployments.c.name == name).order_by(deployments.c.version)
        )
        with self.engine.connect() as conn:
            return [DeploymentRecord.from_row(row) for row in conn.execute(query)]

    def names(self) -> list[str]:
        """Every deployment's name, sorted."""
        query = sa.select(deployments.c.name).distinct().order_by(deployments.c.name)
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def current(self) -> list[DeploymentRecord]:
        """Each name's current version, by name."""
        query = sa.select(deployments).order_by(deployments.c.name, deployments.c.version)
        by_name: dict[str, list[DeploymentRecord]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                record = DeploymentRecord.from_row(row)
                by_name.setdefault(record.name, []).append(record)
        return [current_of(versions) for versions in by_name.values()]


def current_of(versions: list[DeploymentRecord]) -> DeploymentRecord:
    """The running version among ``versions`` (oldest first), else the newest."""
    running = [r for r in versions if r.status == "running"]
    return running[-1] if running else versions[-1]
