"""What one server process holds: its identity (owner id), the runtime (store),
accounts, the event hub, the sink its runs write through, the launcher, the store's
maintenance, the plugin catalog, the metrics, the registered services and the
deployments this server runs."""

from __future__ import annotations

import os
import secrets
import socket
import threading

from hoist.deployment.manager import DeploymentManager
from hoist.deployment.registry import StrategyRegistry
from hoist.runs.runtime import Runtime
from hoist.runs.sinks.store import StoreSink
from hoist.server.accounts import CredentialStore, UserStore
from hoist.server.accounts.bootstrap import ensure_admin, load_secret_key
from hoist.server.auth import RECHECK_INTERVAL, Authenticator
from hoist.server.catalog import PluginCatalog
from hoist.server.launcher import Launcher
from hoist.server.maintenance import Maintenance
from hoist.server.metrics import ServerMetrics
from hoist.server.service_registry import ServiceRegistry
from hoist.server.streams import EventHub
from hoist.settings import Settings

__all__ = ["ServerState"]


class ServerState:
    """The resources of one app; built by :func:`~hoist.server.app.create_app`.

    Args:
        settings: the server's settings.
        runtime: the store to serve (default: one built from ``settings``, owned and
            closed by the app).
        keepalive: seconds between SSE keep-alive comments.
        poll_interval: seconds between the event hub's reads while streams are open.
        recheck_interval: seconds between re-checks of an open stream's credential.
        ready_timeout: seconds a deployment made through the API has to become healthy.
    """

    def __init__(
        self,
        settings: Settings,
        runtime: Runtime | None = None,
        *,
        keepalive: float = 15.0,
        poll_interval: float = 0.02,
        recheck_interval: float = RECHECK_INTERVAL,
        ready_timeout: float = 60.0,
    ) -> None:
        self.settings = settings
        self.owns_runtime = runtime is None
        self.runtime = runtime or Runtime(settings)
        self.store = self.runtime.store  # opens and migrates (accounts tables included)
        self.keepalive = keepalive
        self.users = UserStore(self.store.engine)
        self.credentials = CredentialStore(self.store.engine)
        self.auth = Authenticator(
            self.users,
            self.credentials,
            load_secret_key(settings),
            secure_cookies=settings.secure_cookies,
            recheck_interval=recheck_interval,
        )
        self.hub = EventHub(self.store, poll_interval=poll_interval)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        """This server process's identity, recorded on the runs it launches."""
        self.sink = StoreSink(
            self.store,
            interval=0.01,
            on_commit=self.hub.notify,
            owner=self.owner,
            # Its runs, queued ones included, are heartbeated thrice per stale span.
            heartbeat_interval=min(5.0, settings.stale_after / 3),
        )
        self.catalog = PluginCatalog(settings.plugin_search_paths)
        self.launcher = Launcher(
            self.runtime, self.sink, self.catalog, stale_after=settings.stale_after
        )
        self.maintenance = Maintenance(
            self.store,
            self.launcher,
            interval=settings.maintenance_interval,
            stale_after=settings.stale_after,
        )
        self.metrics = ServerMetrics(lambda: self.hub.subscriber_count)
        self.services = ServiceRegistry(self.store.engine)
        """The registered agent services, refreshed in the background."""
        self.deployments = DeploymentManager(
            self.runtime,
            registry=StrategyRegistry(settings.strategy_paths),
            ready_timeout=ready_timeout,
        )
        """The named deployments; the ones deployed through this server run in it."""
        self._closed = False
        self._lock = threading.Lock()

    def bootstrap(self) -> str | None:
        """Create the first admin if there are no accounts; returns a generated password
        (to print once), else ``None``."""
        return ensure_admin(self.users, self.settings)

    def close(self) -> None:
        """Stop runs and the deployments this server runs, flush the sink, and close the
        runtime if the app owns it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.launcher.shutdown()
        finally:
            try:
                self.deployments.close()  # their records become ``stopped``
            finally:
                self.sink.close()
            if self.owns_runtime:
                self.runtime.close()
