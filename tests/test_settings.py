"""Settings are the one reader of ``HOIST_*`` variables, and nothing reads the environment
at import time."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hoist.runs.runtime import Runtime
from hoist.settings import Settings

SRC = Path(__file__).resolve().parent.parent / "src" / "hoist"
_SETTING = re.compile(r"^HOIST_[A-Z0-9_]+$")


def test_the_api_token_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env({"HOIST_TOKEN": "hst_secret", "HOIST_SERVER_URL": "http://h"})
    assert settings.token == "hst_secret" and "hst_secret" not in repr(settings)
    assert Runtime(settings).remote and Runtime(settings).token == "hst_secret"
    assert Runtime(settings, token="other").token == "other"
    assert Settings.from_env({"HOIST_TOKEN": ""}).token is None
    monkeypatch.setenv("HOIST_TOKEN", "from-env")
    assert Runtime().token == "from-env"  # a runtime without settings reads them itself


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = [
        f"{path.name}:{node.lineno} names {node.value}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and _SETTING.match(node.value)
    ]  # fmt: skip
    for statement in tree.body:  # module level: runs at import time
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                found.append(f"{path.name}:{node.lineno} reads the environment at import")
    return found


def test_only_settings_read_hoist_variables() -> None:
    findings = [
        finding
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "settings.py"
        for finding in _findings(path)
    ]
    assert findings == []
