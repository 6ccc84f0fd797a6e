"""The public names: every one in ``hoist.__all__`` resolves, lazily, and is documented."""

from __future__ import annotations

import subprocess
import sys

import hoist


def test_all_names_resolve_and_have_docstrings() -> None:
    for name in hoist.__all__:
        value = getattr(hoist, name)
        if name != "__version__":
            assert getattr(value, "__doc__", None), f"{name} has no docstring"


def test_all_matches_the_lazy_export_table() -> None:
    assert set(hoist.__all__) == {"__version__", *hoist._EXPORTS}


def test_seed_public_names_exist() -> None:
    for name in (
        "BaseAction", "action", "run_plugin", "RuntimeContext", "PluginEnvironment",
        "PluginCategory", "BaseStep", "StepResult", "StepRegistry", "Orchestrator",
        "LocalExecutor",
    ):  # fmt: skip
        assert name in hoist.__all__


def test_import_is_lazy() -> None:
    heavy = "('sqlalchemy', 'rich', 'pydantic')"
    code = f"import sys, hoist; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute() -> None:
    try:
        hoist.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
