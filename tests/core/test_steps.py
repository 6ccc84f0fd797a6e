"""Steps: weighted progress that ends at exactly 100, skips, rollback in reverse order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import AnyParams, BaseAction
from hoist.plugins.steps import (
    BaseStep,
    BaseStepContext,
    StepFailedError,
    StepRegistry,
    StepResult,
)
from hoist.runs.models import RunStatus
from hoist.runs.sinks.memory import MemorySink


@dataclass
class Ctx(BaseStepContext):
    log: list[str] = field(default_factory=list)


class Step(BaseStep[Ctx]):
    def __init__(
        self,
        name: str,
        weight: float = 1.0,
        *,
        fail: bool = False,
        raise_: bool = False,
        skip: bool = False,
        bad_rollback: bool = False,
        sub: int = 0,
    ) -> None:
        self.name = name
        self.progress_weight = weight
        self.fail, self.raise_, self.skip = fail, raise_, skip
        self.bad_rollback, self.sub = bad_rollback, sub

    def execute(self, context: Ctx) -> StepResult:
        context.log.append(f"run {self.name}")
        for i in range(self.sub):
            context.set_progress(i + 1, self.sub)
        if self.raise_:
            raise RuntimeError(f"{self.name} exploded")
        if self.fail:
            return StepResult(success=False, error="nope")
        return StepResult(data={self.name: True})

    def can_skip(self, context: Ctx) -> bool:
        return self.skip

    def rollback(self, context: Ctx, result: StepResult) -> None:
        context.log.append(f"undo {self.name}")
        if self.bad_rollback:
            raise OSError(f"cannot undo {self.name}")


def _action(steps: list[Step], holder: dict[str, Any]) -> type[BaseAction[AnyParams]]:
    class StepAction(BaseAction[AnyParams]):
        def setup_steps(self, registry: StepRegistry) -> None:
            for step in steps:
                registry.register(step)

        def create_context(self) -> Ctx:
            ctx = Ctx(runtime_ctx=self.ctx, params=self.params)
            holder["ctx"] = ctx
            return ctx

    return StepAction


def _run(steps: list[Step]) -> tuple[MemorySink, dict[str, Any], Any]:
    sink, holder = MemorySink(), {}
    executor = LocalExecutor(sink=sink, progress_interval=0)
    try:
        outcome: Any = executor.execute(_action(steps, holder), {})
    except ActionFailedError as exc:
        outcome = exc
    return sink, holder, outcome


def _main_bar(sink: MemorySink) -> list[float]:
    return [e.current for e in sink.all_events if e.type == "progress" and e.category is None]


@pytest.mark.parametrize(
    "weights", [[0.3, 0.7], [1, 1, 1], [0.1, 0.1, 0.1], [0.2, 0.2, 0.2, 0.2, 0.1], [0, 0]]
)
def test_progress_ends_at_exactly_100(weights: list[float]) -> None:
    sink, _, result = _run([Step(f"s{i}", w, sub=3) for i, w in enumerate(weights)])
    bar = _main_bar(sink)
    assert bar[-1] == 100.0
    assert bar == sorted(bar)
    assert result == {f"s{i}": True for i in range(len(weights))}


def test_skipped_steps_count_as_done() -> None:
    sink, holder, _ = _run([Step("a", 1), Step("b", 1, skip=True), Step("c", 2)])
    assert _main_bar(sink) == pytest.approx([25.0, 50.0, 100.0])
    assert holder["ctx"].log == ["run a", "run c"]
    phases = [(e.step, e.phase) for e in sink.all_events if e.type == "step"]
    assert phases == [
        ("a", "started"), ("a", "finished"), ("b", "skipped"), ("c", "started"),
        ("c", "finished"),
    ]  # fmt: skip


def test_failure_rolls_back_in_reverse_order_including_failing_step() -> None:
    sink, holder, outcome = _run([Step("a"), Step("b"), Step("c", raise_=True), Step("d")])
    assert isinstance(outcome, ActionFailedError)
    assert outcome.error_type == "RuntimeError"
    assert holder["ctx"].log == ["run a", "run b", "run c", "undo c", "undo b", "undo a"]
    phases = [(e.step, e.phase) for e in sink.all_events if e.type == "step"][-4:]
    assert phases == [("c", "failed"), ("c", "rolled_back"), ("b", "rolled_back"),
                      ("a", "rolled_back")]  # fmt: skip
    (run,) = sink.runs.values()
    assert run.status is RunStatus.FAILED


def test_unsuccessful_result_fails_with_step_error() -> None:
    _, holder, outcome = _run([Step("a"), Step("b", fail=True)])
    assert isinstance(outcome, ActionFailedError)
    assert outcome.error_type.endswith("StepFailedError")
    assert "step 'b' failed: nope" in outcome.error_message
    assert isinstance(outcome.__cause__, StepFailedError)
    assert holder["ctx"].log[-2:] == ["undo b", "undo a"]


def test_rollback_errors_are_recorded_not_swallowed() -> None:
    sink, holder, outcome = _run([Step("a", bad_rollback=True), Step("b", raise_=True)])
    assert holder["ctx"].errors == ["rollback of 'a' failed: OSError: cannot undo a"]
    failed = [e for e in sink.all_events if e.type == "step" and e.phase == "rollback_failed"]
    assert failed and "cannot undo a" in failed[0].detail
    assert "rollback of step 'a' also failed" in outcome.traceback


def test_registry_editing() -> None:
    registry = StepRegistry()
    registry.register(Step("a"))
    registry.register(Step("c"))
    registry.insert_before("c", Step("b"))
    registry.insert_after("c", Step("d"))
    assert registry.names == ["a", "b", "c", "d"]
    registry.unregister("b")
    assert registry.names == ["a", "c", "d"]
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Step("a"))
    with pytest.raises(Exception, match="did you mean 'c'"):
        registry.insert_after("cc", Step("e"))


class StepsWin(BaseAction[AnyParams]):
    """Overrides execute() too: the registered steps take precedence (seed 003)."""

    def setup_steps(self, registry: StepRegistry[Ctx]) -> None:
        registry.register(Step("only"))

    def create_context(self) -> Ctx:
        return Ctx(runtime_ctx=self.ctx, params=self.params)

    def execute(self) -> str:
        return "execute() ran"


class NoStepsRegistered(StepsWin):
    def setup_steps(self, registry: StepRegistry[Ctx]) -> None:
        pass


def test_registered_steps_take_precedence_over_execute() -> None:
    assert LocalExecutor(sink=MemorySink()).execute(StepsWin, {}) == {"only": True}


def test_execute_runs_when_no_step_is_registered() -> None:
    assert LocalExecutor(sink=MemorySink()).execute(NoStepsRegistered, {}) == "execute() ran"


def test_registry_is_generic_in_its_context() -> None:
    registry = StepRegistry[Ctx]()
    registry.register(Step("a"))
    assert registry.names == ["a"]
