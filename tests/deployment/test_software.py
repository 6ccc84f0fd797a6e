"""DeployedSoftware normalises every runner answer to the envelope."""

from __future__ import annotations

from typing import Any

import pytest

from hoist.deployment import DeployedSoftware, DeploymentInfo, Runner
from hoist.errors import DeploymentNotReadyError


class Scripted(Runner):
    """Answers whatever the test scripts; counts starts and stops."""

    def __init__(self, answer: Any = None, healthy: bool = True) -> None:
        self.answer, self.healthy = answer, healthy
        self.started = self.stopped = 0

    def run(self, inputs: dict[str, Any]) -> Any:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer(inputs) if callable(self.answer) else self.answer

    def start(self) -> None:
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def is_healthy(self) -> bool:
        if isinstance(self.healthy, BaseException):
            raise self.healthy
        return self.healthy and self.started > self.stopped


def software(runner: Runner) -> DeployedSoftware:
    return DeployedSoftware(runner, DeploymentInfo(strategy="scripted", name="demo"))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": "success", "output": 3}, {"status": "success", "output": 3}),
        (7, {"status": "success", "output": 7}),
        ({"a": 1}, {"status": "success", "output": {"a": 1}}),
        ({"status": "error", "error": "boom"},
         {"status": "error", "error": {"type": "Error", "message": "boom"}}),
        ({"status": "error", "error": {"type": "KeyError", "message": "x"}},
         {"status": "error", "error": {"type": "KeyError", "message": "x"}}),
        ({"status": "success", "error": "hidden"},
         {"status": "error", "error": {"type": "Error", "message": "hidden"}}),
        ({"error": "bare"}, {"status": "error", "error": {"type": "Error", "message": "bare"}}),
        ({"status": "failed"}, {"status": "error", "error": {
            "type": "InvalidResponse", "message": "the runner answered status 'failed'"}}),
        (ValueError("bad x"), {"status": "error", "error": {"type": "ValueError",
                                                           "message": "bad x"}}),
    ],
)  # fmt: skip
def test_every_answer_becomes_the_envelope(answer: Any, expected: dict[str, Any]) -> None:
    assert software(Scripted(answer)).run({"x": 1}) == expected


def test_run_starts_once_and_merges_keywords() -> None:
    runner = Scripted(lambda inputs: inputs)
    deployed = software(runner)
    assert deployed({"a": 1}, b=2) == {"status": "success", "output": {"a": 1, "b": 2}}
    assert deployed.run_batch([{"a": 1}, {"a": 2}])[1]["output"] == {"a": 2}
    assert runner.started == 1


def test_inputs_that_are_not_a_mapping_are_an_error() -> None:
    answer = software(Scripted(1)).run([1, 2])  # type: ignore[arg-type]
    assert answer["status"] == "error" and "mapping" in answer["error"]["message"]


def test_context_manager_health_and_logs() -> None:
    runner = Scripted(1)
    with software(runner) as deployed:
        assert deployed.wait_ready(timeout=5) is deployed
        assert deployed.is_healthy() and deployed.logs() == ""
    assert runner.stopped == 1 and not deployed.is_healthy()
    assert repr(deployed) == "DeployedSoftware('demo', strategy='scripted')"


def test_a_raising_health_check_is_unhealthy_and_wait_ready_says_so() -> None:
    deployed = software(Scripted(1, healthy=RuntimeError("down")))  # type: ignore[arg-type]
    assert not deployed.is_healthy()
    with pytest.raises(DeploymentNotReadyError, match="'demo' \\(scripted\\)") as info:
        deployed.wait_ready(timeout=0.05)
    assert isinstance(info.value, TimeoutError) and info.value.timeout == 0.05
