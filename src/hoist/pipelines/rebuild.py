"""Build an :class:`ActionPipeline` back from what a pipeline run recorded, so that
``hoist pipeline resume RUN`` works from any process (including after a crash)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hoist._entrypoints import resolve_entrypoint
from hoist.errors import ResumeError
from hoist.pipelines.nodes import PipelineNode, Resources, RetryPolicy, node
from hoist.pipelines.pipeline import ActionPipeline
from hoist.runs.models import Run, RunKind

__all__ = ["pipeline_from_run"]


def pipeline_from_run(
    run: Run, load_plugin_action: Callable[[str, str], Any] | None = None
) -> ActionPipeline:
    """The pipeline a run executed.

    Args:
        run: a pipeline run.
        load_plugin_action: ``(plugin_path, action_name) -> action``; used for runs of
            pipelines declared in a plugin's ``config.yaml`` (their actions are loaded
            through the plugin, in its own namespace).

    Raises:
        ResumeError: the run is not a pipeline run, or an action cannot be loaded.
    """
    if run.kind != RunKind.PIPELINE:
        raise ResumeError(run.id, f"it is an {run.kind} run, not a pipeline run")
    meta = run.meta
    plugin_path = meta.get("plugin_path")
    nodes: list[PipelineNode] = []
    for described in meta.get("nodes", []):
        try:
            if described.get("plugin_path"):
                action = _plugin_entrypoint(described["plugin_path"], described["entrypoint"])
            elif plugin_path and load_plugin_action is not None:
                action = load_plugin_action(plugin_path, described["action"])
            else:
                action = resolve_entrypoint(described["entrypoint"])
        except Exception as exc:
            raise ResumeError(
                run.id, f"cannot load the action of node '{described.get('key')}': {exc}"
            ) from exc
        nodes.append(_node(described, action))
    if not nodes:
        raise ResumeError(run.id, "the run records no pipeline nodes")
    return ActionPipeline(
        nodes,
        name=meta.get("name") or run.action,
        plugin=run.plugin,
        meta={k: meta[k] for k in ("plugin_path", "pipeline") if k in meta},
    )


def _plugin_entrypoint(plugin_path: str, entrypoint: str) -> Any:
    """A plugin-relative ``module:qualname`` resolved in this process's namespace of the
    plugin."""
    from hoist.plugins.discovery import load_plugin

    namespace = load_plugin(plugin_path).namespace
    if namespace is None:
        return resolve_entrypoint(entrypoint)
    return resolve_entrypoint(entrypoint, namespace.import_module)


def _node(described: dict[str, Any], action: Any) -> PipelineNode:
    retries = described.get("retries") or {}
    retry_on: list[type[BaseException]] = []
    for name in retries.get("retry_on", ["builtins:Exception"]):
        try:
            found = resolve_entrypoint(name)
        except (ImportError, AttributeError):
            found = Exception
        retry_on.append(found if isinstance(found, type) else Exception)
    policy = RetryPolicy(
        max_attempts=int(retries.get("max_attempts", 1)),
        backoff=float(retries.get("backoff", 0.5)),
        max_backoff=float(retries.get("max_backoff", 30.0)),
        jitter=float(retries.get("jitter", 0.1)),
        retry_on=tuple(retry_on) or (Exception,),
    )
    return node(
        action,
        described["key"],
        depends_on=described.get("depends_on") if described.get("explicit_deps") else None,
        params=described.get("params") or {},
        retries=policy,
        timeout=described.get("timeout"),
        resources=Resources(**(described.get("resources") or {})),
        map_over=described.get("map_over"),
        item_param=described.get("item_param", "item"),
        collect_as=described.get("collect_as"),
        parallelism=int(described.get("parallelism", 4)),
    )
