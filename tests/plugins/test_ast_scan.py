"""The AST scan: actions and params of a plugin whose imports cannot be satisfied."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hoist.errors import ConfigError
from hoist.plugins.ast_scan import ast_scan_plugin
from hoist.plugins.discovery import load_plugin, scan_package
from hoist.plugins.scan import ActionInfo

WritePlugin = Callable[..., Path]

PARAMS = '''
from typing import Annotated, ClassVar
from pydantic import BaseModel, Field


class BaseParams(BaseModel):
    seed: int = 0


class TrainParams(BaseParams):
    """Training parameters."""

    model_config = {"extra": "forbid"}
    kind: ClassVar[str] = "train"
    dataset: str = Field(..., description="Dataset path")
    epochs: int = Field(default=10, ge=1, le=1000, description="Number of epochs")
    lr: float = Field(1e-3, gt=0, lt=1)
    name: Annotated[str, Field(min_length=1, max_length=40, pattern="^[a-z]+$")] = "run"
    tags: list[str] = Field(default_factory=list)
    device: str | None = None
    _private: int = 1


class TrainResult(BaseModel):
    weights: str
    loss: float
'''

TRAIN = '''
import torch_that_does_not_exist as torch
from hoist import BaseAction, action
from hoist.plugins.categories import PluginCategory
from hoist.plugins.types import ModelWeights, YOLODataset
from plugin.params import TrainParams, TrainResult
from .params import BaseParams


class TorchAction(BaseAction[TrainParams]):
    """Shared plumbing; no execute, so not an action."""

    category = PluginCategory.NEURAL_NET


class TrainAction(TorchAction):
    """Train a YOLO model.

    More text.
    """

    action_name = "train"
    input_type = YOLODataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self):
        return torch.train(self.params)


class EvalAction(TorchAction):
    description = "Evaluate"

    def execute(self):
        return {}


@action(name="export", description="Export weights", params=BaseParams, result=TrainResult)
def export_weights(params, context):
    return {}


@action
def bare(params: TrainParams, context):
    """Bare decorator."""


def not_an_action():
    pass
'''


@pytest.fixture
def torch_plugin(write_plugin: WritePlugin) -> Path:
    return write_plugin(
        "yolo",
        {
            "config.yaml": "name: Y\ncode: yolo\nactions:\n  train:\n"
            "    entrypoint: plugin.train:TrainAction\n",
            "plugin/__init__.py": "",
            "plugin/params.py": PARAMS,
            "plugin/train.py": TRAIN,
        },
    )


def by_name(infos: list[ActionInfo]) -> dict[str, ActionInfo]:
    return {info.name: info for info in infos}


def test_scans_a_plugin_that_cannot_be_imported(torch_plugin: Path) -> None:
    with pytest.raises(ConfigError, match="torch_that_does_not_exist"):
        load_plugin(torch_plugin).load_action("train")
    found = ast_scan_plugin(torch_plugin)
    assert found.warnings == []
    infos = by_name(found)
    assert sorted(infos) == ["bare", "eval", "export", "train"]
    train = infos["train"]
    assert (train.entrypoint, train.description, train.category, train.kind, train.source) == (
        "plugin.train:TrainAction",
        "Train a YOLO model.",
        "neural_net",
        "class",
        "ast",
    )
    assert (train.input_type, train.output_type) == ("YOLODataset", "ModelWeights")
    assert (train.params_model, train.result_model) == ("TrainParams", "TrainResult")
    assert [r.name for r in train.result] == ["weights", "loss"]
    params = {p.name: p for p in train.params}
    assert list(params) == ["seed", "dataset", "epochs", "lr", "name", "tags", "device"]
    assert (params["dataset"].required, params["dataset"].description) == (True, "Dataset path")
    epochs = params["epochs"]
    assert (epochs.type, epochs.required, epochs.default) == ("int", False, 10)
    assert epochs.constraints == {"ge": 1, "le": 1000}
    assert params["lr"].constraints == {"gt": 0, "lt": 1} and params["lr"].default == 1e-3
    name = params["name"]
    assert (name.type, name.default) == ("str", "run")
    assert name.constraints == {"min_length": 1, "max_length": 40, "pattern": "^[a-z]+$"}
    assert (params["tags"].default, params["tags"].required) == ([], False)
    assert (params["device"].type, params["device"].default) == ("str | None", None)
    assert (params["seed"].default, params["seed"].required) == (0, False)


def test_inherited_and_decorated_actions(torch_plugin: Path) -> None:
    infos = by_name(ast_scan_plugin(torch_plugin))
    evaluate = infos["eval"]
    assert (evaluate.description, evaluate.category, evaluate.params_model) == (
        "Evaluate",
        "neural_net",
        "TrainParams",
    )
    export = infos["export"]
    assert (export.entrypoint, export.description, export.kind) == (
        "plugin.train:export_weights",
        "Export weights",
        "function",
    )
    assert [p.name for p in export.params] == ["seed"]
    assert [p.name for p in export.result] == ["weights", "loss"]
    bare = infos["bare"]
    assert (bare.description, bare.params_model) == ("Bare decorator.", "TrainParams")


def test_a_syntax_error_skips_only_that_file(torch_plugin: Path) -> None:
    (torch_plugin / "plugin" / "broken.py").write_text("class Oops(:\n    pass\n")
    found = ast_scan_plugin(torch_plugin)
    assert "train" in by_name(found)
    (warning,) = found.warnings
    assert warning.startswith("plugin/broken.py:1: SyntaxError") and "skipped" in warning


def test_agrees_with_the_import_scan(write_plugin: WritePlugin) -> None:
    source = TRAIN.replace("import torch_that_does_not_exist as torch\n", "")
    root = write_plugin(
        "plain",
        {
            "config.yaml": "name: P\ncode: p\n",
            "plugin/__init__.py": "",
            "plugin/params.py": PARAMS,
            "plugin/train.py": source,
        },
    )
    namespace = load_plugin(root).namespace
    assert namespace is not None
    imported = by_name(scan_package(namespace))
    static = by_name(ast_scan_plugin(root))
    assert sorted(imported) == sorted(static)
    for name, info in imported.items():
        other = static[name]
        assert (info.entrypoint, info.description, info.category) == (
            other.entrypoint,
            other.description,
            other.category,
        ), name
        assert (info.input_type, info.output_type) == (other.input_type, other.output_type)
        assert [(p.name, p.required, p.default, p.constraints) for p in info.params] == [
            (p.name, p.required, p.default, p.constraints) for p in other.params
        ], name


def test_seed_layout_names_modules_like_the_config(write_plugin: WritePlugin) -> None:
    root = write_plugin(
        "my_plugin",
        {
            "__init__.py": "",
            "params.py": PARAMS,
            "actions.py": TRAIN.replace("plugin.params", "my_plugin.params"),
        },
    )
    infos = by_name(ast_scan_plugin(root))
    assert infos["train"].entrypoint == "my_plugin.actions:TrainAction"
    assert "epochs" in [p.name for p in infos["train"].params]
