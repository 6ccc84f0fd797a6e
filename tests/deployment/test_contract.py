"""The contract every discovered strategy passes, through the factory.

A strategy contributes nothing but its folder: the suite deploys the same sample code
folder (``main.py`` with ``def predict(inputs)``, `conftest.SAMPLE_MAIN`) with
``DeploymentFactory.create(name, DeployConfig(code_path=...))``; every strategy must run a
function this way (strategies for apps may also accept ``app=``). A strategy whose engine
is missing here (`EngineUnavailableError` when it starts) is skipped locally and fails
under CI (`tests.conftest.need`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.deployment import DeployConfig, DeployedSoftware, DeploymentFactory, StrategyRegistry
from hoist.errors import EngineUnavailableError
from tests.conftest import need

REGISTRY = StrategyRegistry(entry_points=False)
STRATEGIES = REGISTRY.list_strategies()


@pytest.fixture(params=STRATEGIES)
def deployed(request: pytest.FixtureRequest, sample_code: Path):
    config = DeployConfig(code_path=str(sample_code), timeout=60)
    software = DeploymentFactory.create(request.param, config, registry=REGISTRY)
    try:
        software.start()  # idempotent: the tests start it again as they need
    except EngineUnavailableError as exc:
        software.stop()
        need(str(exc))
    yield software
    software.stop()


def test_every_builtin_folder_is_a_working_strategy() -> None:
    assert REGISTRY.broken() == []
    assert STRATEGIES, "no built-in strategy found"


def test_runs_the_callable_and_answers_the_envelope(deployed: DeployedSoftware) -> None:
    with deployed:
        assert deployed.run({"x": 21}) == {"status": "success", "output": {"doubled": 42}}
        assert deployed(x=2) == {"status": "success", "output": {"doubled": 4}}


def test_an_exception_is_an_error_envelope_never_a_success(deployed: DeployedSoftware) -> None:
    with deployed:
        answer = deployed.run({"fail": "boom"})
        assert answer["status"] == "error"
        assert answer["error"]["type"].endswith("ValueError")
        assert "asked to fail: boom" in answer["error"]["message"]
        # The deployment survives its callable's error.
        assert deployed.run({"x": 1})["status"] == "success"


def test_lifecycle_health_and_logs(deployed: DeployedSoftware) -> None:
    deployed.start()
    deployed.wait_ready(timeout=60)
    assert deployed.is_healthy()
    assert isinstance(deployed.logs(), str)
    deployed.stop()
    assert not deployed.is_healthy()
    deployed.stop()  # idempotent
    deployed.start()  # and restartable
    assert deployed.run({"x": 5}) == {"status": "success", "output": {"doubled": 10}}


def test_run_batch_answers_in_order(deployed: DeployedSoftware) -> None:
    with deployed:
        answers = deployed.run_batch([{"x": 1}, {"fail": "x"}, {"x": 3}])
    assert [a["status"] for a in answers] == ["success", "error", "success"]
    assert answers[2]["output"] == {"doubled": 6}
