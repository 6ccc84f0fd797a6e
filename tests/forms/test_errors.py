"""InputsError: the seed's usage, and its place in Hoist's error tree."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from hoist.errors import HoistError, ParamsValidationError, UserInputError
from hoist.forms import FormDefinitionError, InputsError


def test_seed_usage_add_and_has_errors() -> None:
    error = InputsError()
    assert not error.has_errors()
    error.add(tasks="Please specify the number of concurrent tasks.")
    error.add(tasks="Maximum number of concurrent tasks is 500")
    assert error.has_errors()
    assert error.errors == {
        "tasks": [
            "Please specify the number of concurrent tasks.",
            "Maximum number of concurrent tasks is 500",
        ]
    }
    with pytest.raises(InputsError) as caught:
        raise error
    assert "tasks: Maximum number of concurrent tasks is 500" in str(caught.value)


def test_global_dotted_and_list_messages() -> None:
    error = InputsError("whole form is wrong", errors={"a": ["one"]})
    error.add(**{"outer.inner": ["x", "y"]}, _global_="also this")
    assert error.errors == {
        "a": ["one"],
        "_global_": ["whole form is wrong", "also this"],
        "outer.inner": ["x", "y"],
    }
    assert error.field_errors is error.errors
    assert "outer.inner: y" in error.message


def test_error_tree() -> None:
    error = InputsError(tasks="bad")
    assert isinstance(error, ParamsValidationError)
    assert isinstance(error, UserInputError)
    assert isinstance(error, HoistError)
    assert error.exit_code == 2
    assert issubclass(FormDefinitionError, UserInputError)


def test_empty_error_message() -> None:
    assert str(InputsError()) == "invalid inputs"


def test_survives_pickling() -> None:
    error = InputsError("global", tasks="too many")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InputsError
    assert copy.errors == {"tasks": ["too many"], "_global_": ["global"]}
    assert str(copy) == str(error)


def test_import_does_not_load_markdown_or_nh3() -> None:
    lazy = "('nh3', 'markdown_it')"
    code = f"import sys, hoist.forms; print(sorted(m for m in {lazy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
