"""Pipeline nodes: an action plus how it runs inside a pipeline (dependencies, retries,
timeout, resources, fan-out), and the graph checks done when a pipeline is built."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hoist.errors import PipelineDefinitionError
from hoist.plugins.action import BaseAction
from hoist.plugins.decorators import as_action_class
from hoist.plugins.loader import plugin_location

__all__ = ["PipelineNode", "Resources", "RetryPolicy", "node", "topological_order"]


@dataclass(frozen=True)
class RetryPolicy:
    """How often to try a node, and how long to wait between attempts.

    The wait before attempt ``n + 1`` is ``backoff * 2 ** (n - 1)`` seconds, capped at
    ``max_backoff`` and spread by ±``jitter`` (a fraction) so that parallel retries do
    not stampede.

    Attributes:
        max_attempts: attempts in all (1 = no retry).
        backoff: the first wait, in seconds.
        max_backoff: the longest wait.
        jitter: relative spread of each wait, 0 to 1.
        retry_on: exception types (of the action) worth another attempt; a timeout
            counts as the builtin ``TimeoutError``.
    """

    max_attempts: int = 1
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.1
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise PipelineDefinitionError("retries: max_attempts must be >= 1")
        if self.backoff < 0 or self.max_backoff < 0 or not 0 <= self.jitter <= 1:
            raise PipelineDefinitionError("retries: backoff must be >= 0, jitter in 0..1")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base: float = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        spread: float = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, base * (1.0 + spread))

    def should_retry(self, attempt: int, error: BaseException) -> bool:
        """Whether ``error`` after attempt ``attempt`` deserves another attempt."""
        return attempt < self.max_attempts and isinstance(error, self.retry_on)


@dataclass(frozen=True)
class Resources:
    """What one run of a node needs; recorded for executors that place work (Ray)."""

    cpu: float | None = None
    gpu: float | None = None
    memory: int | None = None

    def to_dict(self) -> dict[str, float | int]:
        """Only the declared amounts."""
        return {k: v for k, v in (("cpu", self.cpu), ("gpu", self.gpu), ("memory", self.memory))
                if v is not None}  # fmt: skip


@dataclass(frozen=True)
class PipelineNode:
    """One action in a pipeline.

    Attributes:
        key: the node's name in the pipeline (default: the action's name).
        action: the action class.
        depends_on: keys of the nodes whose results this node receives.
        params: fixed params for this node (override what flows in).
        retries: the retry policy.
        timeout: seconds one attempt may take.
        resources: what one run needs.
        map_over: name of a list param; the action runs once per item (fan-out).
        item_param: the param each item is given as (default: ``item``).
        collect_as: where the list of per-item results goes (default: the node key).
        parallelism: how many items of a fan-out run at once.
    """

    key: str
    action: type[BaseAction[Any]]
    depends_on: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    resources: Resources = field(default_factory=Resources)
    map_over: str | None = None
    item_param: str = "item"
    collect_as: str | None = None
    parallelism: int = 4
    explicit_deps: bool = False

    @property
    def entrypoint(self) -> str:
        """``module:qualname`` of the action (function actions name the function); for an
        action loaded from a plugin folder, the module is plugin-relative (see
        :attr:`plugin_path`)."""
        function = getattr(self.action, "function", None)
        target = function if function is not None else self.action
        module = target.__module__
        location = plugin_location(module)
        return f"{location[1] if location else module}:{target.__qualname__}"

    @property
    def plugin_path(self) -> str | None:
        """The plugin folder the action was loaded from, if it was."""
        function = getattr(self.action, "function", None)
        target = function if function is not None else self.action
        location = plugin_location(target.__module__)
        return str(location[0]) if location else None

    def describe(self) -> dict[str, Any]:
        """JSON-compatible description (stored with the pipeline run; enough to rebuild
        the node in another process, see :func:`hoist.pipelines.rebuild.pipeline_from_run`).
        """
        from hoist.plugins.invoke import jsonable

        retries = self.retries
        return {
            "key": self.key,
            "action": self.action.action_name,
            "entrypoint": self.entrypoint,
            "plugin_path": self.plugin_path,
            "depends_on": list(self.depends_on),
            "explicit_deps": self.explicit_deps,
            "params": jsonable(dict(self.params)),
            "timeout": self.timeout,
            "retries": {
                "max_attempts": retries.max_attempts,
                "backoff": retries.backoff,
                "max_backoff": retries.max_backoff,
                "jitter": retries.jitter,
                "retry_on": [f"{t.__module__}:{t.__qualname__}" for t in retries.retry_on],
            },
            "resources": self.resources.to_dict(),
            "map_over": self.map_over,
            "item_param": self.item_param,
            "collect_as": self.collect_as,
            "parallelism": self.parallelism,
        }


def node(
    action: Any,
    key: str | None = None,
    *,
    depends_on: Sequence[str] | str | None = None,
    params: Mapping[str, Any] | None = None,
    retries: int | RetryPolicy = 1,
    timeout: float | None = None,
    resources: Resources | Mapping[str, Any] | None = None,
    map_over: str | None = None,
    item_param: str = "item",
    collect_as: str | None = None,
    parallelism: int = 4,
) -> PipelineNode:
    """Declare a pipeline node (see :class:`PipelineNode` for the arguments).

    ``retries`` is a number of attempts or a :class:`RetryPolicy`; ``depends_on`` makes
    the pipeline a DAG.
    """
    cls = as_action_class(action)
    if timeout is not None and timeout <= 0:
        raise PipelineDefinitionError(f"node '{key or cls.action_name}': timeout must be > 0")
    policy = retries if isinstance(retries, RetryPolicy) else RetryPolicy(max_attempts=retries)
    if isinstance(resources, Mapping):
        resources = Resources(**resources)
    deps = (depends_on,) if isinstance(depends_on, str) else tuple(depends_on or ())
    return PipelineNode(
        key=key or cls.action_name,
        action=cls,
        depends_on=deps,
        params=dict(params or {}),
        retries=policy,
        timeout=timeout,
        resources=resources or Resources(),
        map_over=map_over,
        item_param=item_param,
        collect_as=collect_as,
        parallelism=max(1, parallelism),
        explicit_deps=depends_on is not None,
    )


def topological_order(nodes: Iterable[PipelineNode]) -> list[PipelineNode]:
    """Nodes ordered so that each comes after its dependencies (declaration order kept
    among independent nodes).

    Raises:
        PipelineDefinitionError: a dependency names no node, or the graph has a cycle
            (the message names the nodes on it).
    """
    by_key = {n.key: n for n in nodes}
    for n in by_key.values():
        for dep in n.depends_on:
            if dep not in by_key:
                raise PipelineDefinitionError(
                    f"node '{n.key}' depends on '{dep}', which is not in the pipeline "
                    f"(nodes: {', '.join(by_key)})",
                    [n.key, dep],
                )
    order: list[PipelineNode] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(key: str, path: list[str]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            cycle = [*path[path.index(key) :], key]
            raise PipelineDefinitionError(f"cycle: {' -> '.join(cycle)}", cycle[:-1])
        state[key] = 1
        for dep in by_key[key].depends_on:
            visit(dep, [*path, key])
        state[key] = 2
        order.append(by_key[key])

    for key in by_key:
        visit(key, [])
    return order
