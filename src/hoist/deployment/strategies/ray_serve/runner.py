"""``RayServeRunner``: the deployed code as a Ray Serve application, called over HTTP."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hoist.deployment.base import Runner
from hoist.deployment.envelope import error_envelope, http_envelope
from hoist.deployment.serving import (
    delete_app,
    ensure_serve,
    serve_module,
    wait_running,
)
from hoist.deployment.strategies.ray_serve.logs import replica_logs
from hoist.deployment.strategies.ray_serve.spec import ServeApplicationSpec
from hoist.deployment.strategies.ray_serve.support import (
    STRATEGY,
    app_name_for,
    httpx_module,
)
from hoist.errors import DeploymentError

__all__ = ["RayServeRunner"]


class RayServeRunner(ServeApplicationSpec, Runner):
    """Serve a callable, a plugin action or an ASGI app as a Ray Serve application.

    The code folder reaches the replicas as their ``runtime_env`` ``working_dir``, and
    ``env_vars`` as its ``env_vars``. :meth:`start` deploys and waits until Serve reports
    the application ``RUNNING``; a replica that cannot start (an import error, a raising
    constructor) fails it with the replica's message, and the application is deleted.
    :meth:`run` POSTs the inputs to ``{endpoint}/predict`` through Serve's HTTP proxy.

    Args:
        code_path: the code folder (the plugin folder with ``action``).
        module: the module holding the callable (``main`` → ``main.py``).
        callable: the function called with the inputs dict.
        action: a plugin action to serve instead of ``module:callable``.
        app: ``"module:attr"``, an ASGI app (e.g. a ``ServeAPI``) in ``code_path``.
        env_vars: environment variables of the replicas.
        timeout: seconds one call may take.
        resources: ``cpu`` and ``gpu`` (count, or ``true`` for one) become the replicas'
            ``num_cpus`` / ``num_gpus``.
        address: the Ray cluster (``None``: Hoist's ``ray_address`` setting, else the
            cluster this process is connected to, else a private loopback head).
        name: the deployment's name (the Serve application's name is derived from it).
        app_name: the Serve application's name (default: from ``name`` or the folder).
        route_prefix: the application's route (default: ``/<app_name>``).
        http_host, http_port: where Serve's proxy listens when this runner starts Serve.
        max_ongoing_requests: requests one replica takes at once (Serve's default of 5
            collapses throughput under concurrency; 100 here).
        num_replicas: fixed replica count (ignored with ``autoscaling``).
        autoscaling: Serve's ``autoscaling_config`` (``min_replicas``, ``max_replicas``...).
        ray_actor_options: extra options of the replicas' actors (merged over resources).
        deploy_timeout: seconds :meth:`start` waits for the application to run.
        path: where :meth:`run` POSTs (an app's own route for ``app``).
        ray_num_cpus: CPUs of a private head started for this runner.
        sync_in_thread: a sync callable runs on a thread (it may block); ``False`` runs
            it on the replica's event loop (as a hand-written ``async def __call__`` that
            calls it does: faster for quick functions, but a slow one holds the replica).
        log_path: a file the replicas' logs are appended to when the runner stops.
        **kwargs: ignored (other strategies' settings).
    """

    def __init__(
        self,
        code_path: str | None = None,
        module: str = "main",
        callable: str = "predict",
        *,
        action: str | None = None,
        app: str | None = None,
        env_vars: dict[str, str] | None = None,
        timeout: float = 300.0,
        resources: dict[str, Any] | None = None,
        address: str | None = None,
        name: str | None = None,
        app_name: str | None = None,
        route_prefix: str | None = None,
        http_host: str = "127.0.0.1",
        http_port: int | None = None,
        max_ongoing_requests: int = 100,
        num_replicas: int = 1,
        autoscaling: dict[str, Any] | None = None,
        ray_actor_options: dict[str, Any] | None = None,
        deploy_timeout: float = 120.0,
        path: str = "/predict",
        ray_num_cpus: int = 2,
        sync_in_thread: bool = True,
        log_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        if action is not None and app is not None:
            raise DeploymentError("give either action or app, not both", strategy=STRATEGY)
        if not code_path:
            raise DeploymentError("ray-serve needs a code folder (code_path)", strategy=STRATEGY)
        if max_ongoing_requests < 1 or num_replicas < 1:
            raise DeploymentError(
                f"max_ongoing_requests ({max_ongoing_requests}) and num_replicas "
                f"({num_replicas}) must be at least 1",
                strategy=STRATEGY,
            )
        self.code_path = str(Path(code_path).resolve())
        self.module = module
        self.callable = callable
        self.action = action
        self.app = app
        self.env_vars = {str(k): str(v) for k, v in (env_vars or {}).items()}
        self.timeout = timeout
        self.resources = dict(resources or {})
        self.address = address
        self.app_name = app_name or app_name_for(name, self.code_path)
        self.route_prefix = route_prefix or f"/{self.app_name}"
        self.http_host = http_host
        self.http_port = http_port
        self.max_ongoing_requests = max_ongoing_requests
        self.num_replicas = num_replicas
        self.autoscaling = dict(autoscaling) if autoscaling else None
        self.ray_actor_options = dict(ray_actor_options or {})
        self.deploy_timeout = deploy_timeout
        self.path = path
        self.ray_num_cpus = ray_num_cpus
        self.sync_in_thread = sync_in_thread
        self.log_path = log_path
        self.endpoint: str | None = None
        self._client: Any = None
        self._handle: Any = None
        self._generation = 0
        self._attached = False
        self._last_logs = ""

    @property
    def calls_through(self) -> str:
        """``handle`` once :meth:`run` calls through the warm ``DeploymentHandle``,
        ``http`` while it POSTs through Serve's proxy."""
        return "handle" if self._handle is not None else "http"

    # ------------------------------------------------------------------ deploying
    def _address(self) -> str | None:
        if self.address:
            return self.address
        from hoist.settings import Settings

        return Settings.from_env().ray_address

    def start(self) -> None:
        """Deploy the application and wait until it runs and its route answers.

        Raises:
            RayUnavailableError: Ray cannot be reached or started.
            DeploymentError: a replica failed to start (its message included), or the
                application did not run within ``deploy_timeout``; the application is
                deleted either way.
        """
        if self._client is not None and self.is_healthy():
            return
        httpx = httpx_module()
        base = ensure_serve(self._address(), host=self.http_host, port=self.http_port,
                            num_cpus=self.ray_num_cpus)  # fmt: skip
        serve = serve_module()
        target = serve.RunTarget(target=self.application(), name=self.app_name,
                                 route_prefix=self.route_prefix)  # fmt: skip
        deadline = time.monotonic() + self.deploy_timeout
        try:
            serve.run_many([target], wait_for_ingress_deployment_creation=False,
                           wait_for_applications_running=False)  # fmt: skip
            wait_running(self.app_name, f"{self.target}", deadline, self.deploy_timeout)
            self.endpoint = base + self.route_prefix.rstrip("/")
            self._client = httpx.Client(base_url=self.endpoint, timeout=self.timeout)
            self._wait_route(deadline, httpx)
            if self.kind != "app":
                self._warm_handle(serve)
        except BaseException:
            self._teardown()
            raise

    def _warm_handle(self, serve: Any) -> None:
        """Get the application's handle on a thread; :meth:`run` uses it once its first
        call went through (the first call waits for Serve's routing), HTTP until then."""
        import threading

        self._generation += 1
        generation = self._generation

        def warm() -> None:
            try:
                handle = serve.get_app_handle(self.app_name)
                handle.ping.remote().result(timeout_s=self.deploy_timeout)
            except Exception:
                return  # run() keeps using HTTP
            if generation == self._generation:
                self._handle = handle

        threading.Thread(target=warm, name=f"hoist-serve-{self.app_name}", daemon=True).start()

    def _wait_route(self, deadline: float, httpx: Any) -> None:
        # RUNNING comes before the proxy's route table knows the prefix (404 until then).
        while True:
            try:
                if self._client.get("/health", timeout=5.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() >= deadline:
                raise DeploymentError(
                    f"Ray Serve application {self.app_name!r} runs but {self.endpoint}/health "
                    f"did not answer within {self.deploy_timeout:g} s",
                    strategy=STRATEGY,
                )
            time.sleep(0.02)  # the proxy's route table updates by polling the controller

    def stop(self) -> None:
        """Delete the application (its replicas stop) and close the client; idempotent.

        Raises:
            DeploymentError: attached from another process to an application on a
                private Ray whose address the record does not hold (it ends with the
                process that deployed it), or Serve refused the deletion.
        """
        if self._attached:
            self._attached = False
            address = self._address()
            if not address:
                raise DeploymentError(
                    f"Ray Serve application {self.app_name!r} runs on the private Ray of "
                    "the process that deployed it (no cluster address in its record): stop "
                    "it there",
                    strategy=STRATEGY,
                )
            from hoist.executors.ray.connect import ensure_ray

            ensure_ray(address)
        self._teardown()

    def _teardown(self) -> None:
        import sys

        if self._client is not None:
            self._client.close()
            self._client = None
        self._handle = None
        self._generation += 1
        self.endpoint = None
        ray = sys.modules.get("ray")
        if ray is None or not ray.is_initialized():
            return
        self._keep_logs()
        try:
            delete_app(self.app_name)
        except Exception as exc:
            raise DeploymentError(
                f"cannot delete Ray Serve application {self.app_name!r}: {exc}",
                strategy=STRATEGY,
            ) from exc

    def _keep_logs(self) -> None:
        logs = replica_logs(self.app_name)
        if not logs:
            return
        self._last_logs = logs
        if self.log_path:
            try:
                with open(self.log_path, "a", encoding="utf-8") as out:
                    out.write(logs)
            except OSError:
                pass

    # ------------------------------------------------------------------ calls
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Call the application once; deploy first when not deployed.

        A callable or an action is called through a ``DeploymentHandle`` (its
        ``predict`` method: about 3x faster per call than the HTTP proxy) once the handle
        is warm; until then, for an app, or in a runner attached from another process,
        ``inputs`` are POSTed to ``{endpoint}{path}``.
        """
        if self._client is None:
            try:
                self.start()
            except DeploymentError as exc:
                return error_envelope(type(exc).__name__, str(exc))
        if self._handle is not None:
            return self._call_handle(inputs)
        httpx = httpx_module()
        try:
            answer = self._client.post(self.path, json=inputs)
        except httpx.TimeoutException:
            message = f"{self.target!r} did not answer within the timeout of {self.timeout:g} s"
            return error_envelope("TimeoutError", message)
        except httpx.TransportError as exc:
            message = f"Ray Serve's proxy failed the call to {self.target!r}: {exc!r}"
            return error_envelope("ServerError", message)
        return http_envelope(answer)

    def _call_handle(self, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self._handle.predict.remote(inputs).result(
                timeout_s=self.timeout
            )
        except TimeoutError:
            message = f"{self.target!r} did not answer within the timeout of {self.timeout:g} s"
            return error_envelope("TimeoutError", message)
        except Exception as exc:
            message = f"Ray Serve failed the call to {self.target!r}: {exc}"
            return error_envelope("ServerError", message)
        return answer

    def is_healthy(self) -> bool:
        """Whether ``GET {endpoint}/health`` answers 200."""
        if self._client is None:
            return False
        try:
            return bool(self._client.get("/health", timeout=2.0).status_code == 200)
        except Exception:
            return False

    def close(self) -> None:
        """Close this runner's HTTP client; the application keeps running (what the
        manager calls on a runner it attached to ask one thing)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def get_logs(self) -> str:
        """The tail of the application's replica logs (Ray's session log folder on this
        machine; a note when they are elsewhere)."""
        logs = replica_logs(self.app_name)
        return (
            logs
            or self._last_logs
            or (
                f"(no Ray Serve replica logs of {self.app_name!r} on this machine: see the "
                "cluster's session logs, logs/serve/replica_*.log)\n"
            )
        )

    def input_schema(self) -> dict[str, Any] | None:
        """The action's params model's JSON Schema (``None`` for a callable or app)."""
        if self.kind != "action":
            return None
        try:
            from hoist.executors.local import LocalExecutor

            plugin = LocalExecutor(working_dir=self.code_path).working_plugin()
            action_cls = plugin.load_action(self.action)
            schema: dict[str, Any] = action_cls.params_model.model_json_schema()
        except Exception:
            return None
        return schema

    def record_config(self) -> dict[str, Any]:
        """What another process needs to :meth:`attach` (store it in the record's config)."""
        from hoist.executors.ray.connect import import_ray

        ray = import_ray()
        address = self.address
        if ray.is_initialized():
            address = str(ray.get_runtime_context().gcs_address)
        return {"address": address, "app_name": self.app_name, "route_prefix": self.route_prefix,
                "predict_path": self.path, "health_path": "/health"}  # fmt: skip

    @classmethod
    def attach(cls, record: Any) -> RayServeRunner | None:
        """A runner for a ray-serve deployment another process made, from its record
        (``config`` ``address`` and ``app_name``, else Hoist's ``ray_address`` and the
        endpoint's last path part); ``None`` without an endpoint."""
        endpoint = getattr(record, "endpoint", None)
        if not endpoint:
            return None
        config = dict(getattr(record, "config", None) or {})
        app_name = config.get("app_name") or endpoint.rstrip("/").rsplit("/", 1)[-1]
        runner = cls(
            code_path=getattr(record, "snapshot", None) or ".",
            address=config.get("address"),
            app_name=app_name,
            path=config.get("predict_path", "/predict"),
            timeout=float(config.get("timeout", 300.0)),
        )
        runner.endpoint = endpoint
        runner._client = httpx_module().Client(base_url=endpoint, timeout=runner.timeout)
        runner._attached = True
        return runner
