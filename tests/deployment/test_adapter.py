"""The adapter: templates rendered into a copy of the code (the original untouched), then
required files, syntax, import and a smoke call checked, each failure naming its check."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hoist.deployment import DeployConfig, DeploymentFactory, StrategyRegistry
from hoist.deployment.adapter import adapt
from hoist.deployment.selector import select
from hoist.errors import (
    AdaptationError,
    DeploymentError,
    StrategyDefinitionError,
    StrategyNotFoundError,
)
from tests.conftest import engine_command
from tests.deployment.conftest import SEED_CONFIG, write_strategy


@pytest.fixture(scope="module")
def builtin() -> StrategyRegistry:
    return StrategyRegistry(entry_points=False)


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_adapting_copies_renders_and_checks_without_touching_the_original(
    sample_code: Path, tmp_path: Path, builtin: StrategyRegistry
) -> None:
    before = _digest(sample_code)
    config = DeployConfig(code_path=sample_code, name="doubler")
    setting = select(config, registry=builtin)
    result = adapt(config, setting, workdir=tmp_path / "work", sample_inputs={"x": 2},
                   registry=builtin)  # fmt: skip
    assert _digest(sample_code) == before
    assert result.success and result.errors == [] and result.setting == setting
    assert result.checks == ["required_files", "syntax", "import", "smoke"]
    assert result.files_generated == ["hoist-deploy.yaml"]
    adapted = Path(result.adapted_path or "")
    assert adapted == tmp_path / "work" / "doubler"
    manifest = (adapted / "hoist-deploy.yaml").read_text()
    assert 'strategy: "local"' in manifest and 'target: "main:predict"' in manifest
    assert result.run_interface["callable"] == "predict"
    # the adapted copy deploys
    with DeploymentFactory.create(setting.strategy, config.model_copy(
            update={"code_path": result.adapted_path}), registry=builtin) as software:  # fmt: skip
        assert software.run({"x": 4}) == {"status": "success", "output": {"doubled": 8}}


def test_a_file_of_the_code_is_kept_over_a_template(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    (sample_code / "hoist-deploy.yaml").write_text("mine\n")
    result = adapt(DeployConfig(code_path=sample_code), "process", registry=builtin)
    assert result.files_generated == []
    assert (Path(result.adapted_path or "") / "hoist-deploy.yaml").read_text() == "mine\n"


def test_a_missing_entry_file_names_the_check_and_file(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    with pytest.raises(AdaptationError, match=r"required_files: serve\.py is missing") as info:
        adapt(DeployConfig(code_path=sample_code, module="serve"), "local", registry=builtin)
    assert (info.value.check, info.value.path, info.value.strategy) == (
        "required_files", "serve.py", "local")  # fmt: skip


def test_a_syntax_error_anywhere_names_the_file_and_line(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    (sample_code / "pkg").mkdir()
    (sample_code / "pkg" / "util.py").write_text("x = 1\ndef broken(:\n")
    result = adapt(DeployConfig(code_path=sample_code), "local", registry=builtin,
                   raise_on_error=False)  # fmt: skip
    assert not result.success
    assert result.checks == ["required_files"]
    assert result.error == result.errors[0]
    assert "check syntax: pkg/util.py line 2" in result.errors[0]


def test_an_entry_module_that_fails_to_import_is_an_import_error(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    (sample_code / "main.py").write_text("import os\nassert os.environ['NEEDED'] == 'yes'\n"
                                         "def predict(inputs):\n    return 1\n")  # fmt: skip
    with pytest.raises(AdaptationError, match=r"check import: main\.py .*KeyError: 'NEEDED'"):
        adapt(DeployConfig(code_path=sample_code), "local", registry=builtin)
    # env_vars reach the check
    config = DeployConfig(code_path=sample_code, env_vars={"NEEDED": "yes"})
    assert adapt(config, "local", registry=builtin).checks[-1] == "import"


def test_a_missing_callable_and_a_failing_smoke_call(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    config = DeployConfig(code_path=sample_code, callable="nothing")
    with pytest.raises(AdaptationError, match=r"check import: .*AttributeError") as info:
        adapt(config, "local", registry=builtin)
    assert info.value.check == "import"
    with pytest.raises(AdaptationError, match=r"check smoke: .*asked to fail: yes") as info:
        adapt(DeployConfig(code_path=sample_code), "local", sample_inputs={"fail": "yes"},
              registry=builtin)  # fmt: skip
    assert info.value.check == "smoke"


def test_an_app_is_imported_but_not_called(tmp_path: Path, builtin: StrategyRegistry) -> None:
    code = tmp_path / "web"
    code.mkdir()
    (code / "api.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    result = adapt(DeployConfig(code_path=code, app="api:app"), "process",
                   sample_inputs={"x": 1}, registry=builtin)  # fmt: skip
    assert result.checks == ["required_files", "syntax", "import"]
    assert result.run_interface["app"] == "api:app"


def test_unknown_strategy_bad_section_and_bad_template(
    sample_code: Path, tmp_path: Path, builtin: StrategyRegistry
) -> None:
    with pytest.raises(StrategyNotFoundError, match="nope"):
        adapt(DeployConfig(code_path=sample_code), "nope", registry=builtin)
    bad = SEED_CONFIG.replace("my_strategy", "bad") + "\nadapter:\n  smoke_inputs: 3\n"
    write_strategy(tmp_path / "s", "bad", config=bad)
    templ = SEED_CONFIG.replace("my_strategy", "templ") + "\nadapter:\n  templates: t\n"
    folder = write_strategy(tmp_path / "s", "templ", config=templ)
    (folder / "t").mkdir()
    (folder / "t" / "x.txt.tmpl").write_text("$nowhere\n")
    registry = StrategyRegistry([tmp_path / "s"], builtin=False, entry_points=False)
    with pytest.raises(StrategyDefinitionError, match=r"adapter\.smoke_inputs"):
        adapt(DeployConfig(code_path=sample_code), "bad", registry=registry)
    with pytest.raises(StrategyDefinitionError, match=r"x\.txt\.tmpl: unknown placeholder"):
        adapt(DeployConfig(code_path=sample_code), "templ", registry=registry)


def test_no_code_folder_or_a_taken_destination_is_an_error(
    sample_code: Path, tmp_path: Path, builtin: StrategyRegistry
) -> None:
    with pytest.raises(DeploymentError, match="adapt needs a code folder"):
        adapt(DeployConfig(action="train"), "local", registry=builtin)
    (tmp_path / "work" / "sample").mkdir(parents=True)
    with pytest.raises(DeploymentError, match="already exists"):
        adapt(DeployConfig(code_path=sample_code), "local", workdir=tmp_path / "work",
              registry=builtin)  # fmt: skip


GRAPH = """
from typing import TypedDict

from langgraph.graph import END, START, StateGraph


class State(TypedDict):
    x: int


def double(state: State) -> State:
    return {"x": state["x"] * 2}


builder = StateGraph(State)
builder.add_node("double", double)
builder.add_edge(START, "double")
builder.add_edge("double", END)
graph = builder.compile()
"""


def test_engine_code_is_checked_in_the_engines_environment(
    tmp_path: Path, builtin: StrategyRegistry
) -> None:
    """LangGraph code does not import in Hoist's interpreter: its import is checked by the
    Python of the langgraph command's environment."""
    code = tmp_path / "agent_code"
    code.mkdir()
    (code / "agent.py").write_text(GRAPH)
    command = str(engine_command("langgraph"))
    config = DeployConfig(code_path=str(code), module="agent", callable="graph",
                          settings={"command": command})  # fmt: skip
    result = adapt(config, "langgraph", workdir=tmp_path / "out", registry=builtin)
    assert result.success and "import" in result.checks, result
    # The same code checked in Hoist's own interpreter (the local strategy) cannot import.
    local = DeployConfig(code_path=str(code), module="agent", callable="graph")
    with pytest.raises(AdaptationError, match="langgraph"):
        adapt(local, "local", workdir=tmp_path / "out-local", registry=builtin)


def test_a_strategy_with_its_own_check_runs_it(
    tmp_path: Path, builtin: StrategyRegistry, sample_code: Path
) -> None:
    """modal checks its generated app file with the real modal package, and the smoke call
    runs the function locally there (no token needed)."""
    config = DeployConfig(code_path=str(sample_code),
                          settings={"command": str(engine_command("modal"))})  # fmt: skip
    result = adapt(config, "modal", workdir=tmp_path / "out", sample_inputs={"x": 4},
                   registry=builtin)  # fmt: skip
    assert result.success and result.checks[-2:] == ["modal_app", "smoke"], result
    with pytest.raises(AdaptationError, match="smoke"):
        adapt(config, "modal", workdir=tmp_path / "again", sample_inputs={"fail": "no"},
              registry=builtin)  # fmt: skip
