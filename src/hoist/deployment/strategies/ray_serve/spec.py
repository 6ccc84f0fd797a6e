"""What a ``ray-serve`` deployment is: the Serve application a :class:`RayServeRunner`
builds from its settings (the replicas' class, actor options and deployment options)."""

from __future__ import annotations

from typing import Any

from hoist.deployment.serving import serve_module, upload_code
from hoist.deployment.strategies.ray_serve.support import actor_options, settings_env

__all__ = ["ServeApplicationSpec"]


class ServeApplicationSpec:
    """The application half of :class:`~hoist.deployment.strategies.ray_serve.RayServeRunner`
    (its settings are the runner's attributes)."""

    code_path: str
    module: str
    callable: str
    action: str | None
    app: str | None
    env_vars: dict[str, str]
    resources: dict[str, Any]
    max_ongoing_requests: int
    num_replicas: int
    autoscaling: dict[str, Any] | None
    ray_actor_options: dict[str, Any]
    sync_in_thread: bool

    @property
    def kind(self) -> str:
        """``action``, ``app`` or ``callable``: what the application serves."""
        return "action" if self.action else "app" if self.app else "callable"

    @property
    def target(self) -> str:
        """The served thing's name, as errors name it."""
        return self.action or self.app or f"{self.module}:{self.callable}"

    def actor_options(self, working_dir: str | None = None) -> dict[str, Any]:
        """The replicas' ``ray_actor_options``: resources, the code folder as
        ``working_dir`` (``working_dir``: its uploaded URI) and ``env_vars``, then
        ``ray_actor_options`` over them."""
        return actor_options(
            self.resources,
            {**settings_env(self.kind), **self.env_vars},
            working_dir or self.code_path,
            self.ray_actor_options,
        )

    def deployment_options(self, working_dir: str | None = None) -> dict[str, Any]:
        """The keywords of ``serve.deployment`` for this application."""
        options: dict[str, Any] = {
            "name": "hoist",
            "max_ongoing_requests": self.max_ongoing_requests,
            "ray_actor_options": self.actor_options(working_dir),
        }
        if self.autoscaling:
            options["autoscaling_config"] = self.autoscaling
        else:
            options["num_replicas"] = self.num_replicas
        return options

    def application(self) -> Any:
        """The bound Serve application (``Deployment.bind(...)``), its code uploaded to
        the connected cluster."""
        serve = serve_module()
        from hoist.deployment.strategies.ray_serve import replica
        from ray import cloudpickle

        # By value: a replica then never imports the hoist.deployment package.
        cloudpickle.register_pickle_by_value(replica)  # type: ignore[no-untyped-call]
        options = self.deployment_options(upload_code(self.code_path))
        if self.kind == "app":
            return serve.deployment(replica.app_deployment_class(), **options).bind(self.app)
        if self.kind == "action":
            return serve.deployment(replica.ActionReplica, **options).bind(self.action)
        deployment = serve.deployment(replica.CallableReplica, **options)
        return deployment.bind(self.module, self.callable, self.sync_in_thread)
