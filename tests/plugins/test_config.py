"""config.yaml: the schema, and errors that name the file, the line and the key."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from hoist._entrypoints import MissingAttributeError, resolve_entrypoint
from hoist._yaml_lines import file_line_of, line_of, read_yaml
from hoist.errors import ConfigError
from hoist.plugins.categories import PluginCategory
from hoist.plugins.config import PluginConfig, load_config, parse_config
from hoist.plugins.types import DataType, ModelWeights, YOLODataset


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def config_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    return info.value


def test_seed_tutorial_config_and_defaults(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
            # my_plugin/config.yaml
            name: My Plugin
            code: my_plugin
            version: 1.10
            category: neural_net
            env: {API_KEY: x}
            actions:
              process:
                name: Process Files
                description: Process input files with batch processing
                entrypoint: my_plugin.actions:ProcessAction
                method: task
              train:
                entrypoint: my_plugin.train:train
                input_type: YOLODataset
                output_type: my_plugin.types:Checkpoint
            """,
        )
    )
    assert (config.name, config.code, config.version) == ("My Plugin", "my_plugin", "1.10")
    assert config.category is PluginCategory.NEURAL_NET
    assert config.env == {"API_KEY": "x"} and type(config.env) is dict
    assert (config.package_manager, config.requirements, config.pipelines) == ("pip", [], {})
    process, train = config.actions["process"], config.actions["train"]
    assert (process.name, process.entrypoint, process.method) == (
        "Process Files",
        "my_plugin.actions:ProcessAction",
        "task",
    )
    # method not set: the caller's mode (else local)
    assert (train.method, train.description, train.name) == (None, "", None)
    where = (str(tmp_path / "config.yaml"), 15, "actions.train.input_type")
    assert train.location("input_type") == where


def test_empty_sections_are_empty_not_errors() -> None:
    config = parse_config("name: X\ncode: x\nactions:\ntags:\n")
    assert config.actions == {} and config.tags == []


def test_bad_yaml_syntax_names_its_line(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actions:
          train:
            entrypoint: plugin.actions:Train
          bad: : value
        """,
    )
    assert error.line == 6
    assert "invalid YAML" in error.problem
    assert str(error).startswith(f"{tmp_path / 'config.yaml'}:6: ")


def test_unknown_method_names_line_key_and_choices(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actions:
          train:
            entrypoint: plugin.actions:Train
            method: tsak
        """,
    )
    assert (error.line, error.key) == (6, "actions.train.method")
    assert "unknown method 'tsak'; choose one of local, task, job, serve" in error.problem
    assert "did you mean 'task'" in error.problem


def test_missing_entrypoint(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actions:
          train:
            method: job
        """,
    )
    assert (error.line, error.key, error.problem) == (
        4,
        "actions.train.entrypoint",
        "field required",
    )


def test_malformed_entrypoint(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actions:
          train:
            entrypoint: plugin.actions.Train
        """,
    )
    assert (error.line, error.key) == (5, "actions.train.entrypoint")
    assert "entrypoint must look like 'module.path:Attribute'" in error.problem


def test_misspelled_top_level_key(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actons:
          train:
            entrypoint: plugin.actions:Train
        """,
    )
    assert (error.line, error.key) == (3, "actons")
    assert "unknown key 'actons' (did you mean 'actions'?)" in error.problem


def test_misspelled_action_key(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actions:
          train:
            entrypoint: plugin.actions:Train
            methd: job
        """,
    )
    assert (error.line, error.key) == (6, "actions.train.methd")
    assert "did you mean 'method'" in error.problem


def test_several_problems_first_raised_all_listed(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: Bad Code
        category: nerual_net
        actions:
          train:
            entrypoint: plugin.actions:Train
            method: tsak
        """,
    )
    assert (error.line, error.key) == (2, "code")
    assert "3 problems in all" in error.problem
    assert "line 3, key 'category': unknown category 'nerual_net'" in error.problem
    assert "line 7, key 'actions.train.method': unknown method 'tsak'" in error.problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "expected a mapping of keys, got a list"),
        ("name: X\n", "field required"),
        ("name: X\ncode: x\nactions:\n  train: plugin.actions:Train\n", "must be a mapping"),
        ("name: X\ncode: x\npackage_manager: conda\n", "choose one of pip, uv"),
    ],
)
def test_other_shapes_of_broken(tmp_path: Path, text: str, problem: str) -> None:
    assert problem in config_error(tmp_path, text).problem


def test_unknown_data_type_name_is_caught_at_load(tmp_path: Path) -> None:
    error = config_error(
        tmp_path,
        """
        name: X
        code: x
        actions:
          train:
            entrypoint: plugin.actions:Train
            input_type: YoloDataset
        """,
    )
    assert (error.line, error.key) == (6, "actions.train.input_type")
    assert "did you mean 'YOLODataset'" in error.problem


def test_resolve_type(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
            name: X
            code: x
            actions:
              train:
                entrypoint: plugin.actions:Train
                input_type: YOLODataset
                output_type: plugin.types:Checkpoint
              bad:
                entrypoint: plugin.actions:Bad
                output_type: plugin.types:NotAType
            """,
        )
    )

    class Checkpoint(ModelWeights):
        """A checkpoint."""

    found = {"plugin.types:Checkpoint": Checkpoint, "plugin.types:NotAType": int}
    train = config.actions["train"]
    assert train.resolve_type("input_type") is YOLODataset
    assert train.resolve_type("output_type", found.__getitem__) is Checkpoint
    assert issubclass(Checkpoint, DataType)
    with pytest.raises(ConfigError) as info:
        config.actions["bad"].resolve_type("output_type", found.__getitem__)
    assert (info.value.line, info.value.key) == (10, "actions.bad.output_type")
    assert "is not a DataType subclass" in info.value.problem


def test_schema_forbids_extras_in_python_too() -> None:
    with pytest.raises(ValueError, match="actons"):
        PluginConfig.model_validate({"name": "X", "code": "x", "actons": {}})


def test_one_line_lookup_for_every_config_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: P
        code: p
        pipelines:
          flow:
            actions:
              - fetch
              - nope
        """,
    )
    doc = read_yaml(path.read_text())
    assert line_of(doc, ("pipelines", "flow", "actions", 1)) == 7
    assert file_line_of(tmp_path, "pipelines.flow.actions.1") == 7  # a folder: its config.yaml
    assert file_line_of(path, "pipelines.flow.missing") == 4  # the deepest key found
    assert file_line_of(tmp_path / "absent.yaml", "name") is None


def test_one_entrypoint_resolver() -> None:
    assert resolve_entrypoint("hoist.plugins.types:ModelWeights") is ModelWeights
    assert resolve_entrypoint("os.path:join.__name__") == "join"
    with pytest.raises(
        MissingAttributeError, match=re.escape("module 'os.path' has no attribute 'nope'")
    ):
        resolve_entrypoint("os.path:nope")
    with pytest.raises(
        MissingAttributeError, match=re.escape("object 'os.path:join' has no attribute 'x'")
    ):
        resolve_entrypoint("os.path:join.x")
    with pytest.raises(ModuleNotFoundError):
        resolve_entrypoint("no_such_module_here:X")
    with pytest.raises(ValueError, match=re.escape("module.path:Attribute")):
        resolve_entrypoint("no-colon")
