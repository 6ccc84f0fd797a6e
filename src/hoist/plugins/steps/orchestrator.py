"""``Orchestrator``: run registered steps with one normalised progress bar and rollback."""

from __future__ import annotations

import traceback
from typing import Any

from hoist.plugins.awaitables import resolve
from hoist.plugins.steps.base import BaseStep, StepFailedError, StepResult
from hoist.plugins.steps.context import BaseStepContext
from hoist.plugins.steps.registry import StepRegistry

__all__ = ["Orchestrator"]

_TOTAL = 100.0


class Orchestrator:
    """Runs a registry's steps in order against a shared context.

    Overall progress is the weighted share of finished (or skipped) steps plus the
    running step's own fraction, reported on the run's main bar out of 100; a successful
    run always ends at exactly 100. When a step fails (raises or returns
    ``success=False``), the steps that completed and the failing one are rolled back in
    reverse order; a rollback that raises is recorded as an event and in
    ``context.errors``, and noted on the raised exception. Steps may be ``async def``
    (``execute``, ``can_skip``, ``rollback``); they are awaited in turn.
    """

    def __init__(self, registry: StepRegistry[Any], context: BaseStepContext) -> None:
        self.registry = registry
        self.context = context

    def execute(self) -> dict[str, StepResult]:
        """Run all steps; returns each step's result by name.

        Raises:
            StepFailedError: a step returned ``success=False``.
            Exception: whatever a step raised, after rollback.
        """
        steps = self.registry.get_steps()
        ctx = self.context.runtime_ctx
        weights = _normalised([s.progress_weight for s in steps])
        done = 0.0
        completed: list[tuple[BaseStep[Any], StepResult]] = []
        for step, weight in zip(steps, weights, strict=True):
            ctx.check_cancelled()
            if resolve(step.can_skip(self.context)):
                ctx.emit_step(step.name, "skipped", weight)
                self.context.step_results[step.name] = StepResult(skipped=True)
                done += weight
                self._report(done)
                continue
            ctx.emit_step(step.name, "started", weight)
            self.context._progress_hook = self._sub_progress(done, weight)
            try:
                result = resolve(step.execute(self.context)) or StepResult()
            except BaseException as exc:
                ctx.emit_step(step.name, "failed", weight, f"{type(exc).__name__}: {exc}")
                failed = StepResult(success=False, error=str(exc))
                self._rollback([*completed, (step, failed)], exc)
                raise
            finally:
                self.context._progress_hook = None
            self.context.step_results[step.name] = result
            if not result.success:
                ctx.emit_step(step.name, "failed", weight, result.error)
                error = StepFailedError(step.name, result.error)
                self._rollback([*completed, (step, result)], error)
                raise error
            ctx.emit_step(step.name, "finished", weight)
            completed.append((step, result))
            done += weight
            self._report(done)
        if not steps or done < _TOTAL:
            self._report(_TOTAL)
        return dict(self.context.step_results)

    def _report(self, done: float) -> None:
        self.context.runtime_ctx.set_progress(min(done, _TOTAL), _TOTAL)

    def _sub_progress(self, done: float, weight: float) -> Any:
        def hook(current: float, total: float) -> None:
            fraction = 0.0 if total <= 0 else max(0.0, min(current / total, 1.0))
            self._report(done + weight * fraction)

        return hook

    def _rollback(self, ran: list[tuple[BaseStep[Any], StepResult]], cause: BaseException) -> None:
        ctx = self.context.runtime_ctx
        for step, result in reversed(ran):
            try:
                resolve(step.rollback(self.context, result))
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}"
                self.context.errors.append(f"rollback of '{step.name}' failed: {detail}")
                ctx.emit_step(step.name, "rollback_failed", step.progress_weight,
                              detail + "\n" + traceback.format_exc())  # fmt: skip
                cause.add_note(f"rollback of step '{step.name}' also failed: {detail}")
            else:
                ctx.emit_step(step.name, "rolled_back", step.progress_weight)


def _normalised(weights: list[float]) -> list[float]:
    total = sum(weights)
    if total <= 0:
        return [_TOTAL / len(weights)] * len(weights) if weights else []
    shares = [_TOTAL * w / total for w in weights]
    # Give rounding dust to the last step so the shares add up to exactly 100.
    shares[-1] = _TOTAL - sum(shares[:-1])
    return shares
