"""Pipelines declared in a plugin's ``config.yaml``::

pipelines:
  train_flow:                       # a sequence of the plugin's actions
    description: Download, convert, train
    actions: [download, convert, {action: train, retries: 2}]
  fan:                              # a DAG
    nodes:
      fetch: {action: download}
      convert: {action: convert, depends_on: [fetch], timeout: 60}
      stats: {action: stats, depends_on: [fetch], map_over: files, item_param: file}
      train: {action: train, depends_on: [convert, stats], resources: {cpu: 2}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hoist._yaml_lines import file_line_of
from hoist.errors import ConfigError, NotFoundError, PipelineDefinitionError
from hoist.pipelines.nodes import PipelineNode, Resources, node
from hoist.pipelines.pipeline import ActionPipeline

if TYPE_CHECKING:
    from hoist.plugins.discovery import PluginDefinition

__all__ = ["NodeConfig", "PipelineConfig", "PipelineNotFoundError", "pipeline_from_config"]


class PipelineNotFoundError(NotFoundError):
    """The plugin declares no pipeline of that name."""

    kind = "pipeline"


class NodeConfig(BaseModel):
    """One node of a configured pipeline."""

    model_config = ConfigDict(extra="forbid")

    action: str
    depends_on: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    retries: int = Field(1, ge=1, le=100)
    backoff: float = Field(0.5, ge=0)
    timeout: float | None = Field(None, gt=0)
    resources: Resources = Field(default_factory=Resources)
    map_over: str | None = None
    item_param: str = "item"
    collect_as: str | None = None
    parallelism: int = Field(4, ge=1, le=256)


class PipelineConfig(BaseModel):
    """A pipeline: ``actions`` (a sequence) or ``nodes`` (a DAG), not both."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    strict: bool = False
    max_parallel: int = Field(4, ge=1, le=256)
    actions: list[str | NodeConfig] | None = None
    nodes: dict[str, NodeConfig] | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> PipelineConfig:
        if (self.actions is None) == (self.nodes is None):
            raise ValueError("give either 'actions' (a sequence) or 'nodes' (a DAG)")
        return self


def pipeline_from_config(plugin: PluginDefinition, name: str) -> ActionPipeline:
    """Build the pipeline ``name`` of ``plugin``.

    Raises:
        PipelineNotFoundError: no such pipeline (with the names that exist).
        ConfigError: the pipeline's definition is wrong (file, line and key named).
        PipelineDefinitionError: a cycle or a dangling dependency.
    """
    declared: dict[str, Any] = dict(plugin.config.pipelines or {})
    if name not in declared:
        raise PipelineNotFoundError(name, declared, where=plugin.code)
    path = str(plugin.config_path or plugin.root or plugin.code)
    base_key = f"pipelines.{name}"
    try:
        spec = PipelineConfig.model_validate(declared[name])
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join([base_key, *(str(p) for p in first["loc"])])
        line = file_line_of(path, key)
        raise ConfigError(first["msg"], path=path, line=line, key=key) from None
    entries: list[tuple[str, NodeConfig, bool]] = []
    if spec.nodes is not None:
        entries = [(key, cfg, True) for key, cfg in spec.nodes.items()]
    else:
        for item in spec.actions or []:
            cfg = NodeConfig(action=item) if isinstance(item, str) else item
            entries.append((cfg.action, cfg, False))
    nodes: list[PipelineNode] = []
    for index, (key, cfg, is_dag) in enumerate(entries):
        where = f"{base_key}.nodes.{key}.action" if is_dag else f"{base_key}.actions.{index}"
        try:
            action = plugin.load_action(cfg.action)
        except NotFoundError as exc:
            line = file_line_of(path, where)
            raise ConfigError(exc.message, path=path, line=line, key=where) from None
        nodes.append(
            node(
                action, key,
                depends_on=(cfg.depends_on or []) if is_dag else None,
                params=cfg.params, retries=_policy(cfg), timeout=cfg.timeout,
                resources=cfg.resources, map_over=cfg.map_over, item_param=cfg.item_param,
                collect_as=cfg.collect_as, parallelism=cfg.parallelism,
            )
        )  # fmt: skip
    try:
        return ActionPipeline(
            nodes, name=name, strict=spec.strict, plugin=plugin.code,
            max_parallel=spec.max_parallel,
            meta={"plugin_path": str(plugin.root) if plugin.root else plugin.code,
                  "pipeline": name},
        )  # fmt: skip
    except PipelineDefinitionError as exc:
        line = file_line_of(path, base_key)
        raise ConfigError(exc.message, path=path, line=line, key=base_key) from exc


def _policy(cfg: NodeConfig) -> Any:
    from hoist.pipelines.nodes import RetryPolicy

    return RetryPolicy(max_attempts=cfg.retries, backoff=cfg.backoff)
