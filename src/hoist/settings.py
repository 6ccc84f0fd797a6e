"""Settings, read once at the edge (CLI, server start, first ``run_plugin``) and passed down.

Library code never reads ``os.environ`` at import time; :meth:`Settings.from_env` is the
one place that maps ``HOIST_*`` variables to values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Where Hoist keeps its state and which database holds the run store.

    Attributes:
        home: ``HOIST_HOME``; holds the embedded SQLite store and run folders.
        database_url: ``HOIST_DATABASE_URL``; a SQLAlchemy URL. ``None`` means the
            embedded SQLite database at ``home / "hoist.db"``.
        ray_address: ``HOIST_RAY_ADDRESS``; ``None`` starts a local Ray when needed.
        server_url: ``HOIST_SERVER_URL``; the Hoist server the CLI talks to, if any.
    """

    home: Path = field(default_factory=lambda: Path.home() / ".hoist")
    database_url: str | None = None
    ray_address: str | None = None
    server_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``HOIST_*`` variables (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        home = env.get("HOIST_HOME")
        return cls(
            home=Path(home).expanduser() if home else Path.home() / ".hoist",
            database_url=env.get("HOIST_DATABASE_URL") or None,
            ray_address=env.get("HOIST_RAY_ADDRESS") or None,
            server_url=env.get("HOIST_SERVER_URL") or None,
        )

    @property
    def store_url(self) -> str:
        """The run store's SQLAlchemy URL (the embedded SQLite file unless configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'hoist.db'}"

    @property
    def runs_dir(self) -> Path:
        """Folder that holds one sub-folder per run (artifacts, working files)."""
        return self.home / "runs"

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
