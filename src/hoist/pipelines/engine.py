"""Run a pipeline locally: schedule nodes (threads for independent branches), retries,
timeouts, fan-out, checkpoints after every node, resume, cancellation."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from pydantic import BaseModel

from hoist.errors import (
    ActionFailedError,
    ParamsValidationError,
    RunCancelledError,
)
from hoist.executors.base import Executor
from hoist.pipelines.nodes import PipelineNode
from hoist.pipelines.pipeline import ActionPipeline
from hoist.pipelines.resume import Checkpoint
from hoist.plugins.context import RuntimeContext
from hoist.plugins.invoke import jsonable
from hoist.plugins.pipeline_context import PipelineContext
from hoist.runs.models import RunStatus

__all__ = ["PipelineEngine", "fit_params"]

_log = logging.getLogger("hoist.pipelines")


def fit_params(params: Mapping[str, Any], action: Any) -> dict[str, Any]:
    """Only the params the action's model knows (all of them if it accepts extras)."""
    model: type[BaseModel] = action.params_model
    if model.model_config.get("extra") == "allow":
        return dict(params)
    return {k: v for k, v in params.items() if k in model.model_fields}


def _as_mapping(key: str, result: Any) -> dict[str, Any]:
    return dict(result) if isinstance(result, Mapping) else {key: result}


class PipelineEngine:
    """Executes one pipeline run; emits its events through the pipeline run's context.

    It knows executors only through their contract: each node's run is prepared
    (:meth:`~hoist.executors.base.Executor.prepare`), opened
    (:meth:`~hoist.executors.base.Executor.context_for`) and run
    (:meth:`~hoist.executors.base.Executor.run_node`, here or on the executor's workers).
    """

    def __init__(
        self,
        pipeline: ActionPipeline,
        executor: Executor,
        ctx: RuntimeContext,
        shared: PipelineContext,
    ) -> None:
        self.pipeline = pipeline
        self.executor = executor
        self.ctx = ctx
        self.shared = shared
        self.results: dict[str, Any] = {}
        self._lock = threading.Lock()  # the pipeline's own events come from many threads
        self._children: dict[str, RuntimeContext] = {}
        self._restored_items: dict[str, Checkpoint] = {}
        self._last_child: dict[str, tuple[str, int]] = {}
        self._initial: dict[str, Any] = {}
        self._coerced: dict[str, Any] = {}

    # ------------------------------------------------------------------ the run
    def run(self, initial: dict[str, Any], restored: Mapping[str, Checkpoint]) -> dict[str, Any]:
        """Run every node not in ``restored``; returns the accumulated params."""
        ctx = self.ctx
        self._initial = dict(initial)
        ctx.emit_status(RunStatus.RUNNING)
        try:
            self._restore(restored)
            self._schedule(initial)
        except RunCancelledError:
            ctx.emit_status(RunStatus.CANCELLED)
            self.executor.sink.flush()
            raise
        except ActionFailedError as exc:
            ctx.emit_error(exc.error_type, exc.error_message, exc.traceback)
            ctx.emit_status(RunStatus.FAILED)
            self.executor.sink.flush()
            raise ActionFailedError(
                ctx.run_id, exc.error_type, exc.error_message, exc.traceback
            ) from exc
        final = self._accumulate(initial, [n.key for n in self.pipeline.nodes])
        ctx.emit_result(jsonable(final))
        ctx.emit_status(RunStatus.SUCCEEDED)
        self.executor.sink.flush()
        return final

    def _restore(self, restored: Mapping[str, Checkpoint]) -> None:
        total = len(self.pipeline.nodes)
        for name, checkpoint in restored.items():
            if checkpoint.item is not None:
                self._restored_items[name] = checkpoint
                self._save(name, checkpoint)
                continue
            if checkpoint.node not in self.pipeline.by_key:
                _log.warning("checkpoint of unknown node %r ignored", checkpoint.node)
                continue
            self.results[checkpoint.node] = checkpoint.result
            self._save(name, checkpoint)
            self._step(checkpoint.node, "skipped")
        if self.results:
            self._progress(len(self.results), total)

    def _schedule(self, initial: dict[str, Any]) -> None:
        pending = [n for n in self.pipeline.nodes if n.key not in self.results]
        running: dict[Future[Any], PipelineNode] = {}
        failure: BaseException | None = None
        total = len(self.pipeline.nodes)
        with cf.ThreadPoolExecutor(self.pipeline.max_parallel, "hoist-node") as pool:
            while (pending or running) and failure is None:
                if self.ctx.is_cancelled():
                    failure = RunCancelledError(self.ctx.run_id)
                    break
                ready = [n for n in pending if all(d in self.results for d in n.depends_on)]
                for n in ready[: self.pipeline.max_parallel - len(running)]:
                    pending.remove(n)
                    inputs = self._accumulate(initial, [*self.pipeline.ancestors[n.key]])
                    inputs.update(n.params)
                    self._step(n.key, "started")
                    if len(ready) == 1 and not running:
                        # A lone ready node (always, in a sequence) runs right here:
                        # no thread hand-off. Its context still sees cancellation.
                        running[_run_inline(self._run_node, n, inputs)] = n
                    else:
                        running[pool.submit(self._run_node, n, inputs)] = n
                if not running:
                    continue
                done, _ = cf.wait(running, timeout=0.1, return_when=cf.FIRST_COMPLETED)
                for future in done:
                    n = running.pop(future)
                    error = future.exception()
                    if error is not None:
                        self._step(n.key, "cancelled" if _cancelled(error) else "failed")
                        failure = failure or error
                        continue
                    self.results[n.key] = future.result()
                    self._finish(n)
                    self._progress(len(self.results), total)
            if failure is not None:
                for child in list(self._children.values()):
                    child.cancel()
                for future, n in list(running.items()):
                    error = future.exception()
                    self._step(n.key, "cancelled" if _cancelled(error) else "failed")
        if failure is not None:
            raise failure

    def _accumulate(self, initial: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
        acc = {**initial, **self._coerced}
        for key in keys:
            if key in self.results:
                acc.update(_as_mapping(key, self.results[key]))
        return acc

    # ------------------------------------------------------------------ one node
    def _run_node(self, n: PipelineNode, inputs: dict[str, Any]) -> Any:
        if n.map_over is None:
            return self._attempts(n, inputs, None)
        items = inputs.get(n.map_over)
        if not isinstance(items, list | tuple):
            raise ActionFailedError(
                self.ctx.run_id, "TypeError",
                f"node '{n.key}' maps over '{n.map_over}', which is not a list "
                f"(got {type(items).__name__})",
            )  # fmt: skip
        results: list[Any] = [None] * len(items)
        todo = []
        for i, item in enumerate(items):
            saved = self._restored_items.get(f"{n.key}[{i}]")
            if saved is not None:
                results[i] = saved.result
            else:
                todo.append((i, item))
        with cf.ThreadPoolExecutor(n.parallelism, f"hoist-{n.key}") as pool:
            futures = {
                pool.submit(self._attempts, n, {**inputs, n.item_param: item}, i): i
                for i, item in todo
            }
            for future in cf.as_completed(futures):
                results[futures[future]] = future.result()
        return {n.collect_as or n.key: results}

    def _attempts(self, n: PipelineNode, inputs: dict[str, Any], item: int | None) -> Any:
        attempt = 1
        while True:
            try:
                result, child = self._run_once(n, inputs, attempt, item)
            except ActionFailedError as exc:
                cause = exc.__cause__ or (
                    TimeoutError() if exc.error_type == "TimeoutError" else exc
                )
                if not n.retries.should_retry(attempt, cause):
                    raise
                delay = n.retries.delay(attempt)
                _log.info("node %s attempt %d failed (%s); retrying in %.2fs", n.key, attempt,
                          exc.error_type, delay)  # fmt: skip
                self._wait(delay)
                attempt += 1
                continue
            if item is not None:
                self._save(
                    f"{n.key}[{item}]",
                    Checkpoint(node=n.key, result=result, params=child[1], run_id=child[0],
                               attempts=attempt, item=item),
                )  # fmt: skip
                self.executor.sink.flush()
            self._last_child[n.key] = (child[0], attempt)
            return result

    def _run_once(
        self, n: PipelineNode, inputs: dict[str, Any], attempt: int, item: int | None
    ) -> tuple[Any, tuple[str, dict[str, Any]]]:
        self.ctx.check_cancelled()
        params = fit_params(inputs, n.action)
        try:
            prepared = self.executor.prepare(
                n.action, params, plugin=self.pipeline.plugin, parent_id=self.ctx.run_id,
                entrypoint=n.entrypoint, meta=self._node_meta(n, attempt, item),
            )  # fmt: skip
        except ParamsValidationError as exc:
            raise ActionFailedError(
                self.ctx.run_id, "ParamsValidationError", f"node '{n.key}': {exc.message}"
            ) from exc
        child = self.executor.context_for(prepared)
        child.parent = self.ctx
        child.extras["pipeline"] = self.shared
        child.extras["node"] = n.key
        self._children[prepared.run.id] = child
        try:
            if n.timeout is None:
                result = self.executor.run_node(n, prepared, child)
            else:
                result = self._with_timeout(n, prepared, child)
        finally:
            self._children.pop(prepared.run.id, None)
        # Params the caller gave as text (``-p epochs=5``) flow on as the node's model
        # parsed them, so later nodes and the final result see 5, not "5".
        parsed = prepared.run.params
        with self._lock:
            for key, raw in self._initial.items():
                if key in parsed and key in params and parsed[key] != raw:
                    self._coerced[key] = parsed[key]
        return jsonable(result), (prepared.run.id, prepared.run.params)

    def _node_meta(self, n: PipelineNode, attempt: int, item: int | None) -> dict[str, Any]:
        """A node run's record: where it sits in the pipeline, and what a worker elsewhere
        needs to load its action and rebuild its pipeline context (plain data)."""
        meta = {**self.shared.as_meta(n.key), "attempt": attempt, "item": item}
        plugin_path = n.plugin_path
        if plugin_path is not None:
            meta["plugin_path"] = plugin_path
        return meta

    def _with_timeout(self, n: PipelineNode, prepared: Any, child: RuntimeContext) -> Any:
        box: Future[Any] = Future()

        def target() -> None:
            try:
                box.set_result(self.executor.run_node(n, prepared, child))
            except BaseException as exc:
                box.set_exception(exc)

        threading.Thread(target=target, name=f"hoist-timeout-{n.key}", daemon=True).start()
        try:
            return box.result(timeout=n.timeout)
        except cf.TimeoutError:
            child.cancel(f"timeout: '{n.key}' exceeded {n.timeout:g}s")
        try:
            return box.result(timeout=5.0)  # it stops at its next cancellation point
        except cf.TimeoutError:
            raise ActionFailedError(
                prepared.run.id, "TimeoutError",
                f"'{n.key}' exceeded {n.timeout:g}s and did not stop at a cancellation point",
            ) from None  # fmt: skip

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.ctx.check_cancelled()
            time.sleep(min(left, 0.05))

    # ------------------------------------------------------------------ pipeline events
    def _finish(self, n: PipelineNode) -> None:
        run_id, attempts = self._last_child.get(n.key, (None, 1))
        self._save(
            n.key,
            Checkpoint(
                node=n.key, result=self.results[n.key], run_id=run_id, attempts=attempts,
                artifacts_path=str(self.executor.runs_dir / run_id / "artifacts")
                if run_id else None,
            ),
        )  # fmt: skip
        self._step(n.key, "finished")
        self.executor.sink.flush()  # durable before any dependent starts

    def _save(self, name: str, checkpoint: Checkpoint) -> None:
        data = checkpoint.model_dump(mode="json", exclude={"node"})
        data["node"] = checkpoint.node
        with self._lock:
            self.ctx.save_checkpoint(name, data)

    def _step(self, key: str, phase: str) -> None:
        with self._lock:
            self.ctx.emit_step(key, phase)

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self.ctx.set_progress(done, total)


def _run_inline(fn: Any, *args: Any) -> Future[Any]:
    future: Future[Any] = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:
        future.set_exception(exc)
    return future


def _cancelled(error: BaseException | None) -> bool:
    return isinstance(error, RunCancelledError)
