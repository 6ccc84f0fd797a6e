"""``ActionPipeline``: chain actions (a sequence) or declare a DAG of them."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from hoist.errors import IncompatibleTypesError, PipelineDefinitionError
from hoist.executors.handle import RunHandle
from hoist.pipelines.nodes import PipelineNode, node, topological_order
from hoist.plugins.types import is_compatible

if TYPE_CHECKING:
    from hoist.executors.base import Executor, PipelineOptions
    from hoist.plugins.context import RuntimeContext

__all__ = ["ActionPipeline", "PipelineWarning"]


class PipelineWarning(UserWarning):
    """A pipeline may not fit together (only warned; ``strict=True`` makes it an error)."""


class ActionPipeline:
    """Actions whose results flow into the params of the actions after them.

    Params accumulate: every node receives the initial params merged with the results of
    all the nodes it depends on (directly or not), in pipeline order, plus its own fixed
    ``params``. A plain list of actions is a sequence (each depends on the one before);
    as soon as one node declares ``depends_on``, the pipeline is a DAG and independent
    branches run at the same time.

    Args:
        actions: action classes, ``@action`` functions or :func:`~hoist.pipelines.node` s.
        name: the pipeline's name (shown in runs).
        strict: raise instead of warning when actions do not fit together.
        plugin: the plugin code recorded on runs.
        max_parallel: DAG branches (and fan-out items) running at once, at most.

    Raises:
        PipelineDefinitionError: duplicate keys, a dangling dependency or a cycle.
        IncompatibleTypesError: with ``strict=True``, an ``output_type`` that cannot feed
            the next ``input_type``.
    """

    def __init__(
        self,
        actions: Sequence[Any],
        *,
        name: str | None = None,
        strict: bool = False,
        plugin: str | None = None,
        max_parallel: int = 4,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not actions:
            raise PipelineDefinitionError("a pipeline needs at least one action")
        nodes = [a if isinstance(a, PipelineNode) else node(a) for a in actions]
        nodes = _unique_keys(nodes)
        self.is_dag = any(n.explicit_deps for n in nodes)
        if not self.is_dag:
            nodes = [_with_deps(n, (nodes[i - 1].key,) if i else ()) for i, n in enumerate(nodes)]
        self.nodes: list[PipelineNode] = topological_order(nodes)
        self.name = name or "+".join(n.key for n in self.nodes)
        self.strict = strict
        self.plugin = plugin
        self.max_parallel = max(1, max_parallel)
        self.meta = dict(meta or {})
        self.by_key = {n.key: n for n in self.nodes}
        self.ancestors = _ancestors(self.nodes)
        self._check_types()
        self._check_coverage()

    def __repr__(self) -> str:
        kind = "dag" if self.is_dag else "sequence"
        return f"<ActionPipeline {self.name!r} {kind}: {', '.join(self.by_key)}>"

    @property
    def roots(self) -> list[PipelineNode]:
        """Nodes that depend on nothing (they receive only the initial params)."""
        return [n for n in self.nodes if not n.depends_on]

    # ------------------------------------------------------------------ checks
    def _problem(self, message: str, error: type[Exception] = PipelineDefinitionError) -> None:
        if self.strict:
            raise error(message)
        warnings.warn(message, PipelineWarning, stacklevel=4)

    def _check_types(self) -> None:
        for n in self.nodes:
            for dep in n.depends_on:
                produced = self.by_key[dep].action.output_type
                required = n.action.input_type
                if not is_compatible(produced, required):
                    assert produced is not None and required is not None
                    self._problem(
                        f"'{dep}' produces {produced.name} but '{n.key}' needs {required.name}",
                        IncompatibleTypesError,
                    )

    def _check_coverage(self) -> None:
        for n in self.nodes:
            if not n.depends_on:
                continue
            missing = self._uncovered(n, provided=())
            if missing:
                fields = ", ".join(f"{n.key}.{f}" for f in missing)
                self._problem(
                    f"{fields} not produced by any earlier action: the caller must supply it"
                )

    def _uncovered(self, n: PipelineNode, provided: Sequence[str]) -> list[str]:
        have = set(provided) | set(n.params)
        if n.map_over is not None:
            have.add(n.item_param)
        for dep in self.ancestors[n.key]:
            produced = _result_fields(self.by_key[dep])
            if produced is None:
                return []  # an ancestor without a result model may produce anything
            have |= produced
        return [f for f in _required_fields(n.action.params_model) if f not in have]

    def validate_initial_params(self, params: Mapping[str, Any] | None) -> list[str]:
        """What the caller must still supply: ``node.field`` names no one provides."""
        given = list(params or {})
        return [f"{n.key}.{f}" for n in self.nodes for f in self._uncovered(n, given)]

    def describe(self) -> dict[str, Any]:
        """JSON-compatible description, stored with each pipeline run."""
        return {
            "name": self.name,
            "dag": self.is_dag,
            "nodes": [n.describe() for n in self.nodes],
            **self.meta,
        }

    # ------------------------------------------------------------------ running
    def execute(
        self,
        params: Mapping[str, Any] | None = None,
        ctx: RuntimeContext | None = None,
        *,
        executor: Executor | None = None,
        resume_from: str | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        """Run the pipeline here and return the accumulated params (all results merged).

        Args:
            params: the initial params.
            ctx: when called from inside a run, that run's context (it becomes the
                pipeline run's parent).
            executor: the executor to run on (default: a new one of the default mode,
                ``local``: each action runs in this process).
            resume_from: a pipeline run to resume (see :meth:`submit`).
            allow_param_changes: let a resume use params that differ from the original.
            force: resume a run that still looks alive (its process may have died less
                than 15 s ago, before its heartbeat went stale).
        """
        from hoist.pipelines.launch import start_pipeline

        handle = start_pipeline(
            self, params, executor=executor, parent_ctx=ctx, resume_from=resume_from,
            allow_param_changes=allow_param_changes, force=force, background=False,
        )  # fmt: skip
        result: dict[str, Any] = handle.result()
        return result

    def submit(
        self,
        params: Mapping[str, Any] | None = None,
        executor: Executor | None = None,
        *,
        resume_from: str | None = None,
        allow_param_changes: bool = False,
        force: bool = False,
    ) -> RunHandle:
        """Start the pipeline in the background; returns the pipeline run's handle, which
        is its id (a ``str``) wherever an id goes (``executor.get_progress(run_id)``).

        With ``resume_from``, the new run skips what finished in that run (marked
        ``skipped``), restores its params snapshot and runs the rest. Resuming a run that
        succeeded starts nothing and returns that run's id. A resumed run that was still
        marked running (its process died) is marked ``lost``, with its running children.
        """
        from hoist.pipelines.launch import start_pipeline

        handle = start_pipeline(
            self, params, executor=executor, resume_from=resume_from,
            allow_param_changes=allow_param_changes, force=force, background=True,
        )  # fmt: skip
        return handle

    def run_on(
        self, executor: Executor, params: Mapping[str, Any] | None, options: PipelineOptions
    ) -> RunHandle:
        """Record a run of this pipeline and drive it in this process, each node's action
        placed by ``executor.run_node`` (what :meth:`Executor.submit_pipeline` does by
        default; use :meth:`submit` or :meth:`execute`)."""
        from hoist.pipelines.launch import run_here

        return run_here(self, executor, params, options)

    def wait(
        self, run_id: str | RunHandle, executor: Executor | None = None,
        timeout: float | None = None,
    ) -> Any:  # fmt: skip
        """Wait for a submitted pipeline run and return its result (typed when the run
        was started by this process, its JSON data otherwise).

        Raises:
            ActionFailedError: the pipeline failed.
            RunCancelledError: it was cancelled.
        """
        from hoist.pipelines.launch import pipeline_handle

        if isinstance(run_id, RunHandle):  # started here: its live (typed) result
            return run_id.result(timeout)
        return pipeline_handle(run_id, executor).result(timeout)


def _with_deps(n: PipelineNode, deps: tuple[str, ...]) -> PipelineNode:
    from dataclasses import replace

    return replace(n, depends_on=deps)


def _unique_keys(nodes: list[PipelineNode]) -> list[PipelineNode]:
    from dataclasses import replace

    seen: dict[str, int] = {}
    out = []
    for n in nodes:
        if n.key in seen and n.explicit_deps:
            raise PipelineDefinitionError(f"two nodes are named '{n.key}'", [n.key])
        seen[n.key] = seen.get(n.key, 0) + 1
        out.append(n if seen[n.key] == 1 else replace(n, key=f"{n.key}_{seen[n.key]}"))
    keys = [n.key for n in out]
    if len(set(keys)) != len(keys):
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise PipelineDefinitionError(f"duplicate node keys: {', '.join(dupes)}", dupes)
    return out


def _ancestors(nodes: list[PipelineNode]) -> dict[str, list[str]]:
    """Each node's transitive dependencies, in pipeline (topological) order."""
    position = {n.key: i for i, n in enumerate(nodes)}
    found: dict[str, set[str]] = {}
    for n in nodes:
        acc: set[str] = set()
        for dep in n.depends_on:
            acc |= found[dep] | {dep}
        found[n.key] = acc
    return {k: sorted(v, key=position.__getitem__) for k, v in found.items()}


def _required_fields(model: type[BaseModel]) -> list[str]:
    return [name for name, f in model.model_fields.items() if f.is_required()]


def _result_fields(n: PipelineNode) -> set[str] | None:
    """Fields the node adds to the params, or ``None`` when that cannot be known."""
    if n.map_over is not None:
        return {n.collect_as or n.key}
    model = n.action.result_model
    return set(model.model_fields) if model is not None else None
