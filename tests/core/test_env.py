"""PluginEnvironment: from the environment and TOML files, typed getters, merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.errors import ConfigError
from hoist.plugins.env import PluginEnvironment


def test_from_environ_strips_prefix() -> None:
    env = PluginEnvironment.from_environ("PLUGIN_", {"PLUGIN_API_KEY": "k", "OTHER": "x"})
    assert dict(env) == {"API_KEY": "k"}
    assert env.get("API_KEY", "") == "k"


def test_typed_getters() -> None:
    env = PluginEnvironment(
        {"N": "32", "LR": "0.5", "DEBUG": "yes", "OFF": "0", "TAGS": "a, b,,c", "L": [1, 2]}
    )
    assert env.get_int("N") == 32
    assert env.get_float("LR") == 0.5
    assert env.get_bool("DEBUG") is True
    assert env.get_bool("OFF") is False
    assert env.get_list("TAGS") == ["a", "b", "c"]
    assert env.get_list("L") == [1, 2]
    assert env.get_int("MISSING", default=7) == 7
    assert env.get_str("MISSING", None) is None


@pytest.mark.parametrize(
    ("getter", "value", "rule"),
    [("get_int", "x", "an integer"), ("get_float", "y", "a number"), ("get_bool", "z", "boolean")],
)
def test_bad_values_name_the_key(getter: str, value: str, rule: str) -> None:
    env = PluginEnvironment({"K": value}, source="test")
    with pytest.raises(ConfigError, match=rule) as info:
        getattr(env, getter)("K")
    assert info.value.key == "K"


def test_missing_setting_is_none_unless_required() -> None:
    env = PluginEnvironment({})
    # The seed reads an optional key with no default: api_key = env.get_str('API_KEY')
    assert env.get_str("API_KEY") is None
    assert env.get_int("BATCH_SIZE") is None
    assert env.get_bool("DEBUG") is None
    assert env.get_list("TAGS") is None
    assert env.get_int("BATCH_SIZE", default=32) == 32
    with pytest.raises(ConfigError, match="required") as info:
        env.get_str("API_KEY", required=True)
    assert info.value.key == "API_KEY"
    with pytest.raises(ConfigError, match="required"):
        env.get_float("LR", required=True)


def test_from_file_and_merge(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text('batch_size = 64\n[db]\nhost = "h"\n')
    env = PluginEnvironment.from_file(file)
    assert env.get_int("batch_size") == 64
    assert env["db.host"] == "h"
    merged = env.merge({"batch_size": 8}, {"extra": True})
    assert merged.get_int("batch_size") == 8 and merged["extra"] is True
    assert env.get_int("batch_size") == 64  # merge returns a new environment


def test_from_file_errors_name_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.toml"
    file.write_text("a = 1\nb = = 2\n")
    with pytest.raises(ConfigError) as info:
        PluginEnvironment.from_file(file)
    assert info.value.path == str(file) and info.value.line == 2
    with pytest.raises(ConfigError, match="not found"):
        PluginEnvironment.from_file(tmp_path / "missing.toml")
