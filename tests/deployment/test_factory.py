"""DeploymentFactory: names or enum members, never a fallback, the runner's keywords."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.deployment import DeployConfig, DeploymentFactory, StrategyRegistry
from hoist.errors import (
    DeploymentError,
    StrategyDefinitionError,
    StrategyNotFoundError,
    UserInputError,
)
from hoist.settings import Settings
from tests.deployment.conftest import write_strategy

RECORDING_RUNNER = """
from hoist.deployment import Runner

class Recording(Runner):
    def __init__(self, **kwargs):
        self.kwargs = kwargs
    def run(self, inputs):
        return {"status": "success", "output": self.kwargs}
    def start(self): pass
    def stop(self): pass
    def is_healthy(self): return True
"""


@pytest.fixture
def registry(tmp_path: Path) -> StrategyRegistry:
    write_strategy(tmp_path, "my_strategy")
    write_strategy(tmp_path, "recording", runner=RECORDING_RUNNER)
    return StrategyRegistry([tmp_path], builtin=False, entry_points=False)


def test_the_seed_custom_strategy_deploys_through_strategy_paths(
    tmp_path: Path, sample_code: Path
) -> None:
    root = tmp_path / "user_strategies"
    write_strategy(root, "my_strategy")
    settings = Settings.from_env({"HOIST_STRATEGY_PATHS": str(root)})
    registry = StrategyRegistry(settings.strategy_paths)
    config = DeployConfig(code_path=sample_code)
    with DeploymentFactory.create("my_strategy", config, registry=registry) as software:
        assert software.is_healthy()
        # The seed's _execute is a stub answering None.
        assert software.run({"input": "test"}) == {"status": "success", "output": None}
    assert not software.is_healthy()
    assert software.info.strategy == "my_strategy"
    assert software.info.name == "sample"


def test_enum_members_and_names_are_the_same(registry: StrategyRegistry) -> None:
    members = registry.strategy_enum()
    by_enum = DeploymentFactory.create(members["RECORDING"], DeployConfig(), registry=registry)
    by_name = DeploymentFactory.create("recording", DeployConfig(), registry=registry)
    assert by_enum.run() == by_name.run()


def test_unknown_strategy_is_an_error_never_a_fallback(registry: StrategyRegistry) -> None:
    with pytest.raises(StrategyNotFoundError) as info:
        DeploymentFactory.create("dockr", DeployConfig(), registry=registry)
    assert info.value.available == ["my_strategy", "recording"]
    assert "Available: my_strategy, recording" in str(info.value)


def test_strategies_restricts_the_allowed(registry: StrategyRegistry) -> None:
    with pytest.raises(StrategyNotFoundError, match="allowed") as info:
        DeploymentFactory.create("recording", DeployConfig(), ["my_strategy"], registry=registry)
    assert info.value.available == ["my_strategy"]
    software = DeploymentFactory.create("recording", DeployConfig(), ["recording"],
                                        registry=registry)  # fmt: skip
    assert software.run()["status"] == "success"


def test_runner_keywords_merge_settings_config_and_defaults(registry: StrategyRegistry) -> None:
    config = DeployConfig(code_path="/code", callable="infer", env_vars={"A": "1"},
                          resources={"memory": "2Gi"})  # fmt: skip
    kwargs = DeploymentFactory.create("recording", config, registry=registry).run()["output"]
    assert kwargs["code_path"] == "/code" and kwargs["callable"] == "infer"
    assert kwargs["module"] == "main" and kwargs["retries"] == 3
    assert kwargs["timeout"] == 300.0  # the strategy's setting fills an unset timeout
    assert kwargs["resources"] == {"cpu": "1", "memory": "2Gi", "gpu": False}
    assert kwargs["env_vars"] == {"A": "1"} and kwargs["action"] is None


def test_a_deployment_overrides_the_strategy_settings(registry: StrategyRegistry) -> None:
    config = DeployConfig(code_path="/code", settings={"retries": 5, "timeout": 9}, name="nm")
    kwargs = DeploymentFactory.create("recording", config, registry=registry).run()["output"]
    assert kwargs["retries"] == 5 and kwargs["timeout"] == 9.0 and kwargs["name"] == "nm"
    assert "settings" not in kwargs


def test_an_unknown_setting_is_refused_naming_the_known(registry: StrategyRegistry) -> None:
    config = DeployConfig(code_path="/code", settings={"retires": 5})
    with pytest.raises(UserInputError, match=r"no setting 'retires' \(its settings: .*retries"):
        DeploymentFactory.create("recording", config, registry=registry)


def test_a_broken_strategy_raises_its_definition_error(tmp_path: Path) -> None:
    write_strategy(tmp_path, "broken", adapter=None)
    registry = StrategyRegistry([tmp_path], builtin=False, entry_points=False)
    with pytest.raises(StrategyDefinitionError, match="adapter_instruction"):
        DeploymentFactory.create("broken", DeployConfig(), registry=registry)


def test_a_runner_refusing_its_keywords_is_a_deployment_error(tmp_path: Path) -> None:
    runner = RECORDING_RUNNER.replace("**kwargs", "code_path")
    write_strategy(tmp_path, "strict", runner=runner)
    registry = StrategyRegistry([tmp_path], builtin=False, entry_points=False)
    with pytest.raises(DeploymentError, match="strict"):
        DeploymentFactory.create("strict", DeployConfig(), registry=registry)


def test_bad_config_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="timeout"):
        DeployConfig(timeout=0)
    with pytest.raises(ValueError, match="colde_path"):
        DeployConfig(colde_path="x")  # type: ignore[call-arg]


def test_list_and_explain(registry: StrategyRegistry) -> None:
    assert DeploymentFactory.list_strategies(registry=registry) == ["my_strategy", "recording"]
    text = DeploymentFactory.explain_strategy("my_strategy", registry=registry)
    assert text.startswith("my_strategy: My custom deployment strategy")
    assert "## Selector" in text
