"""``BaseDeploymentAction``: a plugin action that deploys a Ray Serve application (the
synapse seed's deployment action, on Hoist's Ray connection and deployment records).

A subclass sets ``entrypoint`` (the class, or ``@serve.deployment``, to serve) and either
keeps the default :meth:`~BaseDeploymentAction.execute`, writes its own (the seed's
"simple execute"), or registers ``InitializeRayStep``, ``DeployStep`` and
``RegisterStep`` in ``setup_steps`` (steps take precedence)::

    class MyDeploymentAction(BaseDeploymentAction[MyParams]):
        entrypoint = MyServeDeployment

        def execute(self) -> dict[str, Any]:
            self.ray_init()
            self.set_progress(1, 3, self.progress.INITIALIZE)
            self.deploy()
            self.set_progress(2, 3, self.progress.DEPLOY)
            app_id = self.register_serve_application()
            self.set_progress(3, 3, self.progress.REGISTER)
            return {"serve_application": app_id}

Declared ``method: serve`` in ``config.yaml``, such an action runs in the calling process
(its run connects to Ray, deploys and records). The deployment is a record of strategy
``ray-serve`` in Hoist's store (``hoist deployments list``, the panel), owned by
``ray:<address>``: the cluster runs it, not a process. Hoist has no backend or agent
client: `BaseDeploymentAction.client` is the Hoist server's client when one is configured.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any, ClassVar

from hoist.deployment.serve_release import PluginRelease, pickle_by_value, plugin_release
from hoist.deployment.serve_steps import (
    DeploymentContext,
    DeploymentProgressCategories,
    DeployStep,
    InitializeRayStep,
    RegisterStep,
)
from hoist.plugins.action import BaseAction, P

if TYPE_CHECKING:
    from hoist.plugins.context import RuntimeContext

__all__ = [
    "BaseDeploymentAction",
    "DeployStep",
    "DeploymentContext",
    "DeploymentProgressCategories",
    "InitializeRayStep",
    "PluginRelease",
    "RegisterStep",
    "plugin_release",
]

STRATEGY = "ray-serve"
"""The strategy name of the records these actions write."""

_FAILED = ("DEPLOY_FAILED", "UNHEALTHY")


class BaseDeploymentAction(BaseAction[P]):
    """Base class of actions that deploy an inference endpoint to Ray Serve.

    Supports two execution modes: override :meth:`execute` for a simple deployment, or
    :meth:`setup_steps` to register workflow steps (which then take precedence). Without
    either, :meth:`execute` initialises Ray, deploys and registers.

    Class attributes:
        progress: the standard progress category names (`DeploymentProgressCategories`).
        entrypoint: the class to serve, plain or decorated with ``@serve.deployment``.
        deploy_timeout: seconds the application has to become ``RUNNING``
            (a ``deploy_timeout`` params field wins).
        max_ongoing_requests: per replica, unless the params or a ``@serve.deployment``
            set it (Serve's default of 5 collapses throughput under load).
        deploys_itself: marks actions whose ``method: serve`` run deploys them.
    """

    progress: ClassVar[type[DeploymentProgressCategories]] = DeploymentProgressCategories
    entrypoint: ClassVar[Any] = None
    deploy_timeout: ClassVar[float] = 120.0
    max_ongoing_requests: ClassVar[int] = 100
    deploys_itself: ClassVar[bool] = True

    def __init__(self, params: P, ctx: RuntimeContext) -> None:
        super().__init__(params, ctx)
        self.ray_address: str | None = None
        """The connected cluster's address (set by :meth:`ray_init`)."""
        self.proxy_url: str | None = None
        """The Serve HTTP proxy's base URL (set by :meth:`deploy`)."""
        self._created_app = False
        self._release: PluginRelease | None = None

    # ------------------------------------------------------------------ clients
    @property
    def client(self) -> Any:
        """The Hoist server's client of this run (``ctx.client``).

        Hoist has no separate backend: this is the configured Hoist server's client.

        Raises:
            RuntimeError: no Hoist server is configured for this run.
        """
        client = self.ctx.client
        if client is None:
            raise RuntimeError(
                "no client in this run's context: Hoist has no backend client, and no Hoist "
                "server is configured (Settings.server_url and a token); deployments are "
                "recorded in Hoist's own store without one"
            )
        return client

    @property
    def agent_client(self) -> Any:
        """The seed's agent client, which Hoist does not have.

        Raises:
            RuntimeError: always; the action reaches Ray itself (:meth:`ray_init`).
        """
        raise RuntimeError(
            "Hoist has no agent client: a deployment action reaches Ray itself "
            "(ray_init() connects, deploy() runs Ray Serve)"
        )

    # ------------------------------------------------------------------ workflow
    def execute(self) -> Any:
        """Initialise Ray, deploy, register; ``{"serve_application": id}``."""
        self.ray_init()
        self.set_progress(1, 3, self.progress.INITIALIZE)
        self.deploy()
        self.set_progress(2, 3, self.progress.DEPLOY)
        app_id = self.register_serve_application()
        self.set_progress(3, 3, self.progress.REGISTER)
        return {"serve_application": app_id}

    def create_context(self) -> DeploymentContext:
        """The `DeploymentContext` the steps share (override to add state)."""
        return DeploymentContext(runtime_ctx=self.ctx, params=self.params, action=self)

    def run(self) -> Any:
        """Run the action: its steps when :meth:`setup_steps` registers any, else
        :meth:`execute` (what executors call)."""
        return super().run()

    # ------------------------------------------------------------------ naming
    @property
    def release(self) -> PluginRelease:
        """The plugin release this action belongs to."""
        if self._release is None:
            self._release = plugin_release(type(self))
        return self._release

    def get_serve_app_name(self) -> str:
        """The Serve application's name (and the deployment record's): the plugin's
        ``<code>-<version>``. Override for custom naming."""
        return self.release.release_code

    def get_route_prefix(self) -> str:
        """The route prefix: ``/`` and 12 hex digits of the plugin release's checksum.
        Override for custom routing."""
        return "/" + self.release.checksum[:12]

    def get_ray_actor_options(self) -> dict[str, Any]:
        """Ray actor options of each replica: ``num_cpus`` and ``num_gpus`` from the
        params when they have them (and are set)."""
        options: dict[str, Any] = {}
        for key in ("num_cpus", "num_gpus"):
            value = getattr(self.params, key, None)
            if value is not None:
                options[key] = value
        return options

    def get_deployment_options(self) -> dict[str, Any]:
        """Serve deployment options: ``num_replicas``, ``max_ongoing_requests`` and
        ``autoscaling_config`` from the params when they have them;
        ``max_ongoing_requests`` defaults to the class attribute."""
        options: dict[str, Any] = {"max_ongoing_requests": self.max_ongoing_requests}
        for key in ("num_replicas", "max_ongoing_requests", "autoscaling_config"):
            value = _param(self, key)
            if value is not None:
                options[key] = value
        return options

    def get_bind_kwargs(self) -> dict[str, Any]:
        """Keyword arguments the entrypoint's constructor is bound with (none)."""
        return {}

    def get_runtime_env(self) -> dict[str, Any]:
        """The replicas' Ray runtime environment: the plugin folder as ``working_dir``
        and the run's settings (``ctx.env``) as ``env_vars``."""
        env: dict[str, Any] = {}
        if self.release.root is not None:
            env["working_dir"] = str(self.release.root)
        values = {str(k): str(v) for k, v in self.ctx.env.to_dict().items() if v is not None}
        if values:
            env["env_vars"] = values
        return env

    # ------------------------------------------------------------------ phases
    def ray_init(self, **kwargs: Any) -> None:
        """Connect to the Ray cluster (Hoist's shared connection of this process).

        The address is ``address`` when given, else a ``ray_address`` params field, else
        ``RAY_ADDRESS`` in ``ctx.env``, else Hoist's configured Ray address; with none,
        a private Ray is started on loopback (it, and the Serve application deployed
        there, lives only as long as this process: give an address for a lasting one).

        Args:
            **kwargs: ``address``, ``num_cpus`` (of a private Ray), ``timeout``.

        Raises:
            TypeError: another ``ray.init`` option (the connection is shared, so it
                cannot take per-action options).
            RayUnavailableError: the cluster does not answer.
        """
        from hoist.executors.ray.connect import ensure_ray

        address = kwargs.pop("address", None) or self._configured_address()
        num_cpus = int(kwargs.pop("num_cpus", 2))
        timeout = float(kwargs.pop("timeout", 30))
        if kwargs:
            raise TypeError(
                f"ray_init() got {', '.join(sorted(kwargs))}: this process shares one Ray "
                "connection, so only address, num_cpus and timeout are accepted "
                "(per-replica options go in get_ray_actor_options / get_runtime_env)"
            )
        ray = ensure_ray(address, num_cpus=num_cpus, timeout=timeout)
        self.ray_address = str(ray.get_runtime_context().gcs_address)

    def deploy(self) -> None:
        """Deploy ``entrypoint`` to Ray Serve and wait until it runs.

        The application is named by :meth:`get_serve_app_name`, served under
        :meth:`get_route_prefix`, its replicas built with :meth:`get_ray_actor_options`
        and :meth:`get_runtime_env`. A new application that fails is deleted.

        Raises:
            RuntimeError: ``entrypoint`` is not set; or the application failed to deploy
                (with the replica's message), or was not running within the timeout.
            ImportError: Ray Serve is not installed.
        """
        if self.entrypoint is None:
            raise RuntimeError(
                f"{type(self).__qualname__}.entrypoint is not set: set it to the class "
                "(or @serve.deployment) to deploy to Ray Serve"
            )
        serve = _import_serve()
        from ray.serve.api import _run

        from hoist.deployment.serving import app_status, ensure_serve

        if self.ray_address is None:
            self.ray_init()
        self.proxy_url = ensure_serve(self.ray_address)
        name, prefix = self.get_serve_app_name(), self.get_route_prefix()
        self._created_app = app_status(name)[0] == "NOT_FOUND"
        actor_options = dict(self.get_ray_actor_options())
        runtime_env = self.get_runtime_env()
        if runtime_env:  # Serve takes URIs only: a local folder is uploaded first
            from hoist.executors.ray.packaging import upload_working_dir

            actor_options.setdefault("runtime_env", upload_working_dir(runtime_env))
        options = self.get_deployment_options()
        target = self.entrypoint
        if isinstance(target, serve.Deployment):
            # What its @serve.deployment set is kept unless the params set it.
            configured = set(target._deployment_config.user_configured_option_names)
            if "max_ongoing_requests" in configured and not _param(self, "max_ongoing_requests"):
                options.pop("max_ongoing_requests")
            actor_options = {**(target.ray_actor_options or {}), **actor_options}
            func_or_class = target.func_or_class
            deployment = target.options(ray_actor_options=actor_options, **options)
        else:
            func_or_class = target
            deployment = serve.deployment(target, ray_actor_options=actor_options, **options)
        pickle_by_value(func_or_class)
        _run(deployment.bind(**self.get_bind_kwargs()), _blocking=False, name=name,
             route_prefix=prefix)  # fmt: skip
        self._wait_running(name)

    def _wait_running(self, name: str) -> None:
        from hoist.deployment.serving import app_status

        timeout = float(getattr(self.params, "deploy_timeout", None) or self.deploy_timeout)
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            status, message = app_status(name)
            if status == "RUNNING":
                return
            failed = status in _FAILED
            if failed or time.monotonic() >= deadline or self.ctx.is_cancelled():
                self.undo_deploy()
                self.ctx.check_cancelled()
                why = "failed to deploy" if failed else f"was not running after {timeout:g} s"
                raise RuntimeError(f"Ray Serve application {name!r} {why}: {message or status}")
            time.sleep(delay)  # Serve's controller has no event to wait on
            delay = min(delay * 2, 0.5)

    def undo_deploy(self) -> None:
        """Delete the application :meth:`deploy` created (one it updated is kept)."""
        if self._created_app:
            from hoist.deployment.serving import delete_app

            delete_app(self.get_serve_app_name())
            self._created_app = False

    @property
    def endpoint(self) -> str | None:
        """The application's URL (proxy base URL plus route prefix) once deployed."""
        if self.proxy_url is None:
            return None
        return self.proxy_url + self.get_route_prefix()

    def register_serve_application(self) -> int | None:
        """Record the deployed application in Hoist's store: a ``ray-serve`` deployment
        record named :meth:`get_serve_app_name`, ``running``, whose endpoint is
        :attr:`endpoint`, made by this run and owned by ``ray:<address>``; the name's
        previously running version becomes ``replaced``.

        Returns:
            The record's version (a new one for each deploy of the same application), or
            ``None`` when this process posts its runs to a Hoist server (no store here).

        Raises:
            RuntimeError: :meth:`deploy` has not run.
        """
        from hoist.deployment.records import DeploymentRecord, DeploymentRecords
        from hoist.runs.runtime import get_runtime

        if self.endpoint is None:
            raise RuntimeError("register_serve_application() needs deploy() to have run")
        runtime = get_runtime()
        if runtime.remote:
            self.ctx.log_message("no run store in this process: the deployment is not recorded")
            return None
        records = DeploymentRecords(runtime.store.engine)
        name = self.get_serve_app_name()
        config = {
            "address": self.ray_address, "app_name": name,
            "route_prefix": self.get_route_prefix(), "predict_path": "", "health_path": "",
            "plugin": self.release.code, "plugin_version": self.release.version,
            "action": self.action_name,
        }  # fmt: skip
        record = records.add(
            DeploymentRecord(name=name, version=0, strategy=STRATEGY, status="running",
                             health="healthy", endpoint=self.endpoint, run_id=self.ctx.run_id,
                             owner=f"ray:{self.ray_address}", snapshot="", config=config)
        )  # fmt: skip
        for other in records.versions(name):
            if other.version != record.version and other.status == "running":
                records.update(name, other.version, status="replaced", health="unknown")
        self._created_app = False  # recorded: a later failure no longer removes it
        return record.version

    # ------------------------------------------------------------------ internals
    def _configured_address(self) -> str | None:
        for value in (getattr(self.params, "ray_address", None), self.ctx.env.get("RAY_ADDRESS")):
            if value:
                return str(value)
        from hoist.runs.runtime import get_runtime

        return get_runtime().settings.ray_address


def _param(action: BaseAction[Any], key: str) -> Any:
    """The params field ``key`` (``None`` when the params have no such field)."""
    return getattr(action.params, key, None)


def _import_serve() -> Any:
    """``ray.serve``; its own import-time deprecation warnings (pydantic's) are Ray's
    business, not this run's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from ray import serve
    except ImportError as exc:
        raise ImportError(
            f"Ray Serve is not installed ({exc}): pip install 'ray[serve]' to deploy"
        ) from exc
    return serve
