"""Build an :class:`ActionPipeline` back from what a pipeline run recorded, so that a
pipeline can be resumed from any process (including after a crash).

Two ways, by how far the record is trusted:

- :func:`pipeline_from_catalog` (a server): the record is data. Each node's action is
  looked up by the run's plugin code and the node's action name in the plugins the
  caller offers; the folders, entrypoints and exception types a record names are never
  imported, so a forged run cannot make the process run code it does not offer.
- :func:`pipeline_from_run` (``hoist pipeline resume`` on one's own store): the record's
  entrypoints and plugin folders are imported as recorded.

Either way a record that cannot be rebuilt (corrupt, naming an unknown plugin or action,
or something that is not an action) is a :class:`~hoist.errors.ResumeError` naming the
node and the field.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from hoist._entrypoints import resolve_entrypoint
from hoist.errors import HoistError, ResumeError
from hoist.pipelines.nodes import PipelineNode, Resources, RetryPolicy, node
from hoist.pipelines.pipeline import ActionPipeline
from hoist.plugins.decorators import is_action
from hoist.plugins.definition import PluginDefinition
from hoist.runs.models import Run, RunKind

__all__ = ["NodeRecord", "pipeline_from_catalog", "pipeline_from_run"]


class RetryRecord(BaseModel):
    """A node's recorded retry policy (values are checked by :class:`RetryPolicy`)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = 1
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.1
    retry_on: list[str] = Field(default_factory=lambda: ["builtins:Exception"])


class ResourcesRecord(BaseModel):
    """A node's recorded resources."""

    model_config = ConfigDict(extra="forbid")

    cpu: float | None = None
    gpu: float | None = None
    memory: int | None = None


class NodeRecord(BaseModel):
    """One node as a pipeline run records it (:meth:`PipelineNode.describe`)."""

    key: str
    action: str | None = None
    entrypoint: str | None = None
    plugin_path: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    explicit_deps: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = None
    retries: RetryRecord = Field(default_factory=RetryRecord)
    resources: ResourcesRecord = Field(default_factory=ResourcesRecord)
    map_over: str | None = None
    item_param: str = "item"
    collect_as: str | None = None
    parallelism: int = 4


_RECORDS = TypeAdapter(list[NodeRecord])
#: ``node record -> action``: how one way of rebuilding finds a node's code.
_ActionOf = Callable[[NodeRecord], Any]
#: ``"module:Qualname" -> exception type`` (or ``None`` when it cannot be found).
_ExceptionOf = Callable[[str], Any]


def pipeline_from_catalog(
    run: Run, find_plugin: Callable[[str], PluginDefinition]
) -> ActionPipeline:
    """The pipeline a run executed, every action taken from the plugins offered.

    Only the run's plugin code and each node's action name select code; the record's
    plugin folders, entrypoints and retry exception types are never imported (a retry
    type counts only if its module is already loaded; otherwise any exception retries).

    Args:
        run: a pipeline run (its record may be forged: it is read as data).
        find_plugin: the plugin with a code, e.g. a server's
            :meth:`~hoist.server.catalog.PluginCatalog.get`; raises when there is none.

    Raises:
        ResumeError: not a pipeline run, no plugin recorded, a plugin or action that is
            not offered, an entrypoint that is not an action, or a corrupt record (each
            naming the node and what is wrong).
    """
    _check_kind(run)
    code = run.plugin
    if not code:
        raise ResumeError(
            run.id, "it records no plugin; only pipelines of this server's plugins can resume"
        )
    try:
        plugin = find_plugin(code)
    except HoistError as exc:
        raise ResumeError(run.id, f"it names plugin '{code}': {exc.message}") from None

    def action_of(record: NodeRecord) -> Any:
        if not record.action:
            raise ResumeError(run.id, f"node '{record.key}' records no action name")
        try:
            return plugin.load_action(record.action)
        except Exception as exc:
            message = exc.message if isinstance(exc, HoistError) else f"{type(exc).__name__}: {exc}"
            raise ResumeError(
                run.id,
                f"node '{record.key}': action '{record.action}' of plugin '{code}': {message}",
            ) from exc

    meta: dict[str, Any] = {"plugin_path": str(plugin.root) if plugin.root else plugin.code}
    if isinstance(run.meta.get("pipeline"), str):
        meta["pipeline"] = run.meta["pipeline"]
    return _rebuild(run, action_of, _loaded_exception, meta)


def pipeline_from_run(
    run: Run, load_plugin_action: Callable[[str, str], Any] | None = None
) -> ActionPipeline:
    """The pipeline a run executed, its code imported as the record names it.

    Only for records one trusts (one's own store): a server resumes through
    :func:`pipeline_from_catalog` instead.

    Args:
        run: a pipeline run.
        load_plugin_action: ``(plugin_path, action_name) -> action``; used for runs of
            pipelines declared in a plugin's ``config.yaml`` (their actions are loaded
            through the plugin, in its own namespace).

    Raises:
        ResumeError: the run is not a pipeline run, its record is corrupt, or an action
            cannot be loaded or is not an action.
    """
    _check_kind(run)
    plugin_path = run.meta.get("plugin_path")

    def action_of(record: NodeRecord) -> Any:
        try:
            if record.plugin_path:
                found = _plugin_entrypoint(record.plugin_path, record.entrypoint or "")
            elif plugin_path and load_plugin_action is not None:
                found = load_plugin_action(plugin_path, record.action or "")
            else:
                found = resolve_entrypoint(record.entrypoint or "")
        except Exception as exc:
            raise ResumeError(
                run.id, f"cannot load the action of node '{record.key}': {exc}"
            ) from exc
        if not is_action(found):
            raise ResumeError(
                run.id, f"node '{record.key}': entrypoint {record.entrypoint!r} is not an action "
                "(a BaseAction subclass or an @action function)",
            )  # fmt: skip
        return found

    meta: dict[str, Any] = {k: run.meta[k] for k in ("plugin_path", "pipeline") if k in run.meta}
    return _rebuild(run, action_of, _imported_exception, meta)


def _check_kind(run: Run) -> None:
    if run.kind != RunKind.PIPELINE:
        raise ResumeError(run.id, f"it is an {run.kind} run, not a pipeline run")


def _rebuild(
    run: Run, action_of: _ActionOf, exception_of: _ExceptionOf, meta: dict[str, Any]
) -> ActionPipeline:
    try:
        records = _RECORDS.validate_python(run.meta.get("nodes", []))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(["nodes", *(str(p) for p in first["loc"])])
        raise ResumeError(run.id, f"its record is corrupt: {where}: {first['msg']}") from None
    if not records:
        raise ResumeError(run.id, "the run records no pipeline nodes")
    nodes = [_node(run, record, action_of(record), exception_of) for record in records]
    name = run.meta.get("name")
    try:
        return ActionPipeline(
            nodes, name=name if isinstance(name, str) and name else run.action,
            plugin=run.plugin, meta=meta,
        )  # fmt: skip
    except HoistError as exc:
        raise ResumeError(run.id, f"its pipeline cannot be rebuilt: {exc.message}") from None


def _node(run: Run, record: NodeRecord, action: Any, exception_of: _ExceptionOf) -> PipelineNode:
    retries = record.retries
    retry_on = tuple(_exception_type(exception_of, name) for name in retries.retry_on)
    try:
        policy = RetryPolicy(
            max_attempts=retries.max_attempts, backoff=retries.backoff,
            max_backoff=retries.max_backoff, jitter=retries.jitter,
            retry_on=retry_on or (Exception,),
        )  # fmt: skip
        return node(
            action,
            record.key,
            depends_on=record.depends_on if record.explicit_deps else None,
            params=record.params,
            retries=policy,
            timeout=record.timeout,
            resources=Resources(**record.resources.model_dump()),
            map_over=record.map_over,
            item_param=record.item_param,
            collect_as=record.collect_as,
            parallelism=record.parallelism,
        )
    except HoistError as exc:
        raise ResumeError(run.id, f"node '{record.key}': {exc.message}") from None


def _exception_type(exception_of: _ExceptionOf, name: str) -> type[BaseException]:
    """The exception type ``name`` names; :class:`Exception` when it names none."""
    try:
        found = exception_of(name)
    except Exception:
        return Exception
    return found if isinstance(found, type) and issubclass(found, BaseException) else Exception


def _imported_exception(name: str) -> Any:
    return resolve_entrypoint(name)


def _loaded_exception(name: str) -> Any:
    """``module:Qualname`` looked up in the modules already imported, without importing
    anything or running any ``__getattr__``."""
    module_name, _, qualname = name.partition(":")
    target: Any = sys.modules.get(module_name)
    for part in qualname.split(".") if target is not None else ():
        target = inspect.getattr_static(target, part, None)
    return target


def _plugin_entrypoint(plugin_path: str, entrypoint: str) -> Any:
    """A plugin-relative ``module:qualname`` resolved in this process's namespace of the
    plugin."""
    from hoist.plugins.discovery import load_plugin

    namespace = load_plugin(plugin_path).namespace
    if namespace is None:
        return resolve_entrypoint(entrypoint)
    return resolve_entrypoint(entrypoint, namespace.import_module)
