"""The contract every discovered strategy passes, through the factory.

A strategy contributes nothing but its folder: the suite deploys the same sample code
folder (``main.py`` with ``def predict(inputs)``, `conftest.SAMPLE_MAIN`) with
``DeploymentFactory.create(name, DeployConfig(code_path=..., settings=...))``; every
strategy must run a function this way (strategies for apps may also accept ``app=``).

Engines come from ``make engines`` (`tests.conftest.engine_command`: missing, skipped
locally and failed under CI) and Ray from the session's cluster. Two engines cannot run
on this machine nor on CI's (no Docker engine, no Modal token): while their runner says
what is missing (``missing()``), the suite checks that deploying says it too
(`EngineUnavailableError`) instead of the contract; with them present, the contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hoist.deployment import DeployConfig, DeployedSoftware, DeploymentFactory, StrategyRegistry
from hoist.errors import EngineUnavailableError
from tests.conftest import engine_command

REGISTRY = StrategyRegistry(entry_points=False)
STRATEGIES = REGISTRY.list_strategies()
ENGINE_COMMANDS = {"bentoml": "bentoml", "langgraph": "langgraph", "modal": "modal"}
"""Strategies whose ``command`` setting is an engine's command (``make engines``)."""
NOT_HERE = {"docker": "no Docker engine", "modal": "no Modal token"}
"""Strategies that cannot deploy on this machine or CI's, and why."""


def settings_for(name: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings the suite deploys ``name`` with: its engine, the session's Ray."""
    if name in ENGINE_COMMANDS:
        return {"command": str(engine_command(name, ENGINE_COMMANDS[name]))}
    if name.replace("_", "-") == "ray-serve":
        return {"address": request.getfixturevalue("ray_cluster").address}
    return {}


def missing_here(name: str, settings: dict[str, Any]) -> str | None:
    """What the strategy's runner says it misses here (None: it can deploy)."""
    runner_class = REGISTRY.get_runner_class(name)
    check = getattr(runner_class, "missing", None)
    if check is None:
        return None
    result: str | None = check(**{**REGISTRY.get_strategy(name).settings, **settings})
    return result


@pytest.fixture(params=STRATEGIES)
def deployed(request: pytest.FixtureRequest, sample_code: Path) -> Any:
    name = request.param
    settings = settings_for(name, request)
    if name in NOT_HERE and missing_here(name, settings) is not None:
        pytest.skip(f"{name}: {NOT_HERE[name]} here (the missing-engine test checks it)")
    config = DeployConfig(code_path=str(sample_code), timeout=60, settings=settings)
    software = DeploymentFactory.create(name, config, registry=REGISTRY)
    yield software
    software.stop()


@pytest.mark.parametrize("name", sorted(NOT_HERE))
def test_a_missing_engine_is_said_never_a_fallback(
    name: str, request: pytest.FixtureRequest, sample_code: Path
) -> None:
    if name not in STRATEGIES:
        pytest.fail(f"strategy {name} is not discovered")
    settings = settings_for(name, request)
    missing = missing_here(name, settings)
    if missing is None:
        pytest.skip(f"{name} can deploy here: the contract runs it")
    config = DeployConfig(code_path=str(sample_code), timeout=60, settings=settings)
    software = DeploymentFactory.create(name, config, registry=REGISTRY)
    with pytest.raises(EngineUnavailableError) as raised:
        software.start()
    software.stop()
    assert raised.value.strategy == name and raised.value.how
    assert raised.value.missing in str(raised.value)
    answer = software.run({"x": 1})  # a call is an error envelope, never a success
    assert answer["status"] == "error"


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
