"""Settings, read once at the edge (CLI, server start, first ``run_plugin``) and passed down.

Library code never reads ``os.environ`` (at import time or later): :meth:`Settings.from_env`
is the one place that maps ``HOIST_*`` variables to values.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hoist.errors import UserInputError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_MCP_CALL_WAIT",
    "DEFAULT_SERVER_PORT",
    "Settings",
    "variable_of",
]

DEFAULT_MCP_CALL_WAIT = 10.0
"""Seconds an MCP action tool waits for its run to end unless configured."""

DEFAULT_SERVER_PORT = 8465
"""The port ``hoist serve`` listens on unless configured."""

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: Uploads forwarded to a registered service's launch (multipart bodies; 100 MiB).
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
"""The largest request body the server accepts (1 MiB) unless configured."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Settings:
    """Where Hoist keeps its state, which database holds the run store, how the server runs.

    Attributes:
        home: ``HOIST_HOME``; holds the embedded SQLite store and run folders.
        database_url: ``HOIST_DATABASE_URL``; a SQLAlchemy URL. ``None`` means the
            embedded SQLite database at ``home / "hoist.db"``.
        ray_address: ``HOIST_RAY_ADDRESS``; ``None`` starts a local Ray when needed.
        server_url: ``HOIST_SERVER_URL``; the Hoist server the CLI talks to, if any.
        token: ``HOIST_TOKEN``; an API token for ``server_url`` (the CLI falls back to the
            one ``hoist login`` saved; a remote worker posts its runs with it).
        server_host: ``HOIST_SERVER_HOST``; the address ``hoist serve`` binds.
        server_port: ``HOIST_SERVER_PORT``; the port ``hoist serve`` listens on.
        secret_key: ``HOIST_SECRET_KEY``; signs session cookies. ``None``: a key generated
            once and kept in ``home / "secret_key"`` (mode 0600). Never a default value.
        admin_password: ``HOIST_ADMIN_PASSWORD``; the first admin's password. ``None``: one
            is generated on first start and printed once.
        cors_origins: ``HOIST_CORS_ORIGINS`` (comma-separated); origins allowed to call the
            API from a browser. Empty (the default): CORS closed.
        max_body_bytes: ``HOIST_MAX_BODY_BYTES``; larger request bodies are refused (413).
        max_upload_bytes: ``HOIST_MAX_UPLOAD_BYTES``; the limit instead for a
            ``multipart/form-data`` launch of a registered service (files forwarded to it).
        secure_cookies: ``HOIST_SECURE_COOKIES``; mark session cookies ``Secure`` (serve
            over HTTPS, e.g. behind a TLS proxy).
        plugin_paths: ``HOIST_PLUGIN_PATHS`` (``os.pathsep``-separated); folders the server
            searches for plugins. Empty: the current folder.
        strategy_paths: ``HOIST_STRATEGY_PATHS`` (``os.pathsep``-separated); deployment
            strategy folders (or folders of them) found beside the built-in strategies.
        trusted_proxies: ``HOIST_TRUSTED_PROXIES`` (comma-separated addresses or networks);
            the reverse proxies whose ``X-Forwarded-For``/``-Proto`` headers the server
            believes. Empty (the default): none, so a client cannot pick its own address.
        maintenance_interval: ``HOIST_MAINTENANCE_INTERVAL``; seconds between a server's
            sweeps of the store (runs whose worker or server died are ended; the first
            sweep runs at start-up).
        stale_after: ``HOIST_STALE_AFTER``; seconds without a heartbeat after which a run's
            worker (or a queued run's server) is taken to be dead. The server's own runs
            heartbeat three times in that span; keep it above 5 s (other workers'
            heartbeat interval) when other processes write to the same store.
        service_secret: ``HOIST_SERVICE_SECRET``; the secret a Hoist server and its
            services share to sign and verify a launching user's identity
            (:mod:`hoist.services.identity`). ``None``: services run every request as
            anonymous (local development).
        llm_base_url, llm_model, llm_api_key: ``HOIST_LLM_BASE_URL``, ``HOIST_LLM_MODEL``,
            ``HOIST_LLM_API_KEY`` (``OPENAI_API_KEY`` when unset); an OpenAI-compatible
            endpoint the deployment selector may ask (``strategy="auto"``). ``None``: the
            selector uses its rules only.
        storage_config: ``HOIST_STORAGE_CONFIG``; the YAML file naming storage locations
            (``hoist.storage``). ``None``: ``<home>/storage.yaml`` when it exists.
        artifacts: ``HOIST_ARTIFACTS``; a storage location (a name from the storage
            config, or a URL such as ``s3://bucket/prefix``) that keeps runs' artifacts.
            ``None``: each run's local ``artifacts/`` folder only.
        mcp_expose: ``HOIST_MCP_EXPOSE`` (comma-separated); the plugins and actions the
            MCP server offers to agents, as patterns on ``plugin`` or ``plugin.action``
            (``*`` and ``?`` wildcards: ``train_*``, ``shapes.predict``, ``shapes.*``).
            Empty (the default): every plugin the catalog offers.
        mcp_call_wait: ``HOIST_MCP_CALL_WAIT``; seconds an MCP action tool waits for its
            run to end (reporting progress) before it answers with the run id instead.
    """

    home: Path = field(default_factory=lambda: Path.home() / ".hoist")
    database_url: str | None = None
    ray_address: str | None = None
    server_url: str | None = None
    token: str | None = field(default=None, repr=False)
    server_host: str = "127.0.0.1"
    server_port: int = DEFAULT_SERVER_PORT
    secret_key: str | None = field(default=None, repr=False)
    admin_password: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    secure_cookies: bool = False
    plugin_paths: tuple[Path, ...] = ()
    strategy_paths: tuple[Path, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    maintenance_interval: float = 5.0
    stale_after: float = 15.0  # hoist.runs.reader.STALE_AFTER
    service_secret: str | None = field(default=None, repr=False)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    storage_config: Path | None = None
    artifacts: str | None = None
    mcp_expose: tuple[str, ...] = ()
    mcp_call_wait: float = DEFAULT_MCP_CALL_WAIT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``HOIST_*`` variables (``os.environ`` by default).

        Raises:
            UserInputError: a variable has a value of the wrong kind (naming it).
        """
        env = os.environ if environ is None else environ
        home = env.get("HOIST_HOME")
        paths = env.get("HOIST_PLUGIN_PATHS", "")
        strategy_paths = env.get("HOIST_STRATEGY_PATHS", "")
        storage = env.get("HOIST_STORAGE_CONFIG")
        return cls(
            home=Path(home).expanduser() if home else Path.home() / ".hoist",
            database_url=env.get("HOIST_DATABASE_URL") or None,
            ray_address=env.get("HOIST_RAY_ADDRESS") or None,
            server_url=env.get("HOIST_SERVER_URL") or None,
            token=env.get("HOIST_TOKEN") or None,
            server_host=env.get("HOIST_SERVER_HOST") or "127.0.0.1",
            server_port=_int(env, "HOIST_SERVER_PORT", DEFAULT_SERVER_PORT, 0, 65535),
            secret_key=env.get("HOIST_SECRET_KEY") or None,
            admin_password=env.get("HOIST_ADMIN_PASSWORD") or None,
            cors_origins=_names(env, "HOIST_CORS_ORIGINS"),
            max_body_bytes=_int(env, "HOIST_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1, None),
            max_upload_bytes=_int(env, "HOIST_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, 1, None),
            secure_cookies=_bool(env, "HOIST_SECURE_COOKIES"),
            plugin_paths=tuple(Path(p).expanduser() for p in paths.split(os.pathsep) if p),
            strategy_paths=tuple(
                Path(p).expanduser() for p in strategy_paths.split(os.pathsep) if p
            ),
            trusted_proxies=_networks(env, "HOIST_TRUSTED_PROXIES"),
            maintenance_interval=_float(env, "HOIST_MAINTENANCE_INTERVAL", 5.0, 0.01),
            stale_after=_float(env, "HOIST_STALE_AFTER", 15.0, 0.1),
            service_secret=env.get("HOIST_SERVICE_SECRET") or None,
            llm_base_url=env.get("HOIST_LLM_BASE_URL") or None,
            llm_model=env.get("HOIST_LLM_MODEL") or None,
            llm_api_key=env.get("HOIST_LLM_API_KEY") or env.get("OPENAI_API_KEY") or None,
            storage_config=Path(storage).expanduser() if storage else None,
            artifacts=env.get("HOIST_ARTIFACTS") or None,
            mcp_expose=_names(env, "HOIST_MCP_EXPOSE"),
            mcp_call_wait=_float(env, "HOIST_MCP_CALL_WAIT", DEFAULT_MCP_CALL_WAIT, 0.0),
        )

    def storage_environ(self) -> dict[str, str]:
        """The storage variables a worker elsewhere needs (where artifacts go, which
        storage config names the locations); only those set."""
        environ = {"HOIST_ARTIFACTS": self.artifacts}
        if self.storage_config is not None:
            environ["HOIST_STORAGE_CONFIG"] = str(self.storage_config)
        return {k: v for k, v in environ.items() if v}

    def process_environ(self, *, passwords: bool = True) -> dict[str, str]:
        """The variables that start another Hoist process (an MCP client's ``hoist.mcp``,
        say) on this store, these plugins and this storage; only those set, and never a
        token or key. ``passwords=False`` writes ``***`` for the database URL's password
        (for a snippet shown on screen)."""
        database_url = self.database_url
        if database_url and not passwords:
            database_url = _hide_password(database_url)
        environ = {
            "HOIST_HOME": str(self.home),
            "HOIST_DATABASE_URL": database_url,
            "HOIST_PLUGIN_PATHS": os.pathsep.join(
                str(p.resolve()) for p in self.plugin_search_paths
            ),
            "HOIST_MCP_EXPOSE": ",".join(self.mcp_expose),
            "HOIST_MCP_CALL_WAIT": None
            if self.mcp_call_wait == DEFAULT_MCP_CALL_WAIT
            else str(self.mcp_call_wait),
            "HOIST_RAY_ADDRESS": self.ray_address,
            **self.storage_environ(),
        }
        return {k: v for k, v in environ.items() if v}

    @property
    def plugin_install_folder(self) -> Path:
        """Where ``hoist plugins install`` puts plugins: the first of ``plugin_paths``,
        else ``<home>/plugins``."""
        return self.plugin_paths[0] if self.plugin_paths else self.home / "plugins"

    @property
    def plugin_search_paths(self) -> tuple[Path, ...]:
        """Where the server and the CLI look for plugins: ``plugin_paths``, else the
        current folder and the install folder."""
        return self.plugin_paths or (Path("."), self.plugin_install_folder)

    @property
    def storage_config_path(self) -> Path:
        """The storage config file: ``storage_config``, else ``<home>/storage.yaml``."""
        return self.storage_config or self.home / "storage.yaml"

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

    def server_environ(self) -> dict[str, str]:
        """The variables that give a worker process this server and token (its
        ``ctx.client``); empty without both. Secret: pass them as secrets."""
        if not (self.server_url and self.token):
            return {}
        return {"HOIST_SERVER_URL": self.server_url, "HOIST_TOKEN": self.token}

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def variable_of(field_name: str) -> str:
    """The environment variable that sets the :class:`Settings` field ``field_name``
    (for messages that tell the user what to change)."""
    if field_name not in Settings.__dataclass_fields__:
        raise KeyError(field_name)
    return f"HOIST_{field_name.upper()}"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UserInputError(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise UserInputError(f"{name} must be {bounds}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UserInputError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= low or value == float("inf"):  # NaN fails the first test
        raise UserInputError(f"{name} must be a finite number >= {low:g}, got {raw!r}")
    return value


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    found = tuple(p.strip() for p in env.get(name, "").split(",") if p.strip())
    for item in found:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise UserInputError(
                f"{name} must list IP addresses or networks (e.g. 10.0.0.1,10.1.0.0/16), "
                f"got {item!r}"
            ) from None
    return found


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UserInputError(f"{name} must be true or false, got {raw!r}")
