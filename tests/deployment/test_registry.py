"""Discovery and the registry: built-in folders, user folders, broken folders."""

from __future__ import annotations

from pathlib import Path

import pytest

import hoist.deployment as deployment
from hoist.deployment import StrategyRegistry
from hoist.deployment.discovery import BUILTIN_DIR
from hoist.errors import StrategyDefinitionError, StrategyNotFoundError
from hoist.settings import Settings
from tests.deployment.conftest import write_strategy


def test_folders_registry_and_enum_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOIST_STRATEGY_PATHS", raising=False)
    StrategyRegistry.reset()
    try:
        folders = sorted(
            p.name for p in BUILTIN_DIR.iterdir() if p.is_dir() and not p.name.startswith("_")
        )
        registry = StrategyRegistry.get()
        assert registry is StrategyRegistry.get()
        assert set(folders) <= set(registry.list_strategies())
        assert {m.value for m in deployment.DeployStrategy} == set(registry.list_strategies())
        assert deployment.DeployStrategy["LOCAL"] == "local"
    finally:
        StrategyRegistry.reset()


def test_a_user_folder_via_strategy_paths(tmp_path: Path) -> None:
    write_strategy(tmp_path, "my_strategy")
    paths = Settings.from_env({"HOIST_STRATEGY_PATHS": str(tmp_path)}).strategy_paths
    registry = StrategyRegistry(paths, builtin=False, entry_points=False)
    assert registry.list_strategies() == ["my_strategy"]
    assert registry.strategy_exists("my_strategy")
    assert registry.get_strategy("my_strategy").settings == {"timeout": 300, "retries": 3}
    assert registry.get_default_run_interface("my_strategy")["callable"] == "predict"
    assert registry.get_selector_instruction("my_strategy").startswith("## Selector")
    assert registry.get_adapter_instruction("my_strategy").startswith("## Adapter")
    cls = registry.get_runner_class("my_strategy")
    assert cls.__name__ == "MyStrategyRunner"
    assert registry.get_runner_class("my_strategy") is cls
    # A path may also be the strategy folder itself.
    alone = StrategyRegistry([tmp_path / "my_strategy"], builtin=False, entry_points=False)
    assert alone.list_strategies() == ["my_strategy"]


def test_unknown_strategy_lists_the_available_and_suggests(tmp_path: Path) -> None:
    write_strategy(tmp_path, "my_strategy")
    registry = StrategyRegistry([tmp_path], builtin=False, entry_points=False)
    with pytest.raises(StrategyNotFoundError) as info:
        registry.get_strategy("my_stratgy")
    assert info.value.available == ["my_strategy"]
    assert info.value.suggestions == ["my_strategy"]
    with pytest.raises(StrategyNotFoundError):
        registry.list_strategies(allowed=["nope"])
    assert registry.list_strategies(allowed=["my_strategy"]) == ["my_strategy"]


@pytest.mark.parametrize(
    ("breakage", "file", "key", "words"),
    [
        ("no_runner", "runner.py", None, "runner.py is missing"),
        ("no_selector", "selector_instruction.md", None, "is missing"),
        ("no_adapter", "adapter_instruction.md", None, "is missing"),
        ("bad_yaml", "config.yaml", None, "invalid YAML"),
        ("no_name", "config.yaml", "name", "required key is missing"),
        ("wrong_name", "config.yaml", "name", "must be a plain identifier"),
        ("bad_settings", "config.yaml", "settings", "dictionary"),
    ],
)
def test_a_broken_folder_is_listed_with_file_and_key(
    tmp_path: Path, breakage: str, file: str, key: str | None, words: str
) -> None:
    kwargs: dict = {}
    if breakage == "no_runner":
        kwargs["runner"] = None
    if breakage == "no_selector":
        kwargs["selector"] = None
    if breakage == "no_adapter":
        kwargs["adapter"] = None
    if breakage == "bad_yaml":
        kwargs["config"] = "name: [unclosed\n"
    if breakage == "no_name":
        kwargs["config"] = "description: nameless\n"
    if breakage == "wrong_name":
        kwargs["config"] = "name: other\n"
    if breakage == "bad_settings":
        kwargs["config"] = "name: bad_settings\nsettings: 3\n"
    write_strategy(tmp_path, breakage, **kwargs)
    write_strategy(tmp_path, "fine")
    registry = StrategyRegistry([tmp_path], builtin=False, entry_points=False)
    assert registry.list_strategies() == ["fine"]
    [broken] = registry.broken()
    error = broken.error
    assert isinstance(error, StrategyDefinitionError)
    assert error.path.endswith(file) and error.key == key and words in str(error)
    assert error.strategy == breakage
    with pytest.raises(StrategyDefinitionError):
        registry.get_strategy(breakage)


def test_a_missing_strategy_path_is_listed_not_skipped(tmp_path: Path) -> None:
    registry = StrategyRegistry([tmp_path / "gone"], builtin=False, entry_points=False)
    [broken] = registry.broken()
    assert "not a folder" in str(broken.error)


def test_a_name_defined_twice_keeps_the_first(tmp_path: Path) -> None:
    write_strategy(tmp_path / "a", "twin")
    write_strategy(tmp_path / "b", "twin")
    registry = StrategyRegistry([tmp_path / "a", tmp_path / "b"], builtin=False,
                                entry_points=False)  # fmt: skip
    assert registry.definition("twin").path == tmp_path / "a" / "twin"
    [broken] = registry.broken()
    assert "defined twice" in str(broken.error)


@pytest.mark.parametrize(
    ("runner", "config_extra", "words"),
    [
        ("raise RuntimeError('import boom')\n", "", "failed to import"),
        ("X = 1\n", "", r"exactly one Runner subclass \(found: none\)"),
        ("from hoist.deployment import Runner\n", "runner_class: Nope\n", "'Nope' is not"),
    ],
)
def test_a_bad_runner_names_the_file(
    tmp_path: Path, runner: str, config_extra: str, words: str
) -> None:
    write_strategy(tmp_path, "bad", runner=runner, config="name: bad\n" + config_extra)
    registry = StrategyRegistry([tmp_path], builtin=False, entry_points=False)
    with pytest.raises(StrategyDefinitionError, match=words):
        registry.get_runner_class("bad")


def test_a_hyphen_reads_as_an_underscore() -> None:
    """``ray-serve`` (as the issue and Kapso-style names write it) is ``ray_serve``."""
    registry = StrategyRegistry(entry_points=False)
    assert registry.canonical("ray-serve") == "ray_serve"
    assert (
        registry.strategy_exists("ray-serve")
        and registry.get_strategy("ray-serve").name == "ray_serve"
    )
    assert registry.list_strategies(["ray-serve", "local"]) == ["local", "ray_serve"]
