"""Plugins from installed packages: a real package declaring ``hoist.plugins`` entry points,
built as a wheel and ``pip install``-ed into a folder put on ``sys.path``, is listed beside
folder plugins (registry, ``hoist plugins list``, the server's catalog), records the
distribution it came from, and runs by its code."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import PluginNotFoundError
from hoist.executors.plugin_runner import run_plugin
from hoist.plugins.discovery import DistributionInfo, discover_plugins, plugin_registry
from hoist.server.catalog import PluginCatalog, describe_plugin

WritePlugin = Callable[..., Path]
DIST = DistributionInfo("hoist-hello", "0.3.1")

ENTRY_POINTS = """\
[hoist.plugins]
hello = hoist_hello
shout = hoist_shout
gone = hoist_not_installed
misnamed = hoist_hello
"""
PACKAGE = {
    "hoist_hello/__init__.py": "",
    "hoist_hello/config.yaml": """
        name: Hello
        code: hello
        version: 0.3.1
        actions:
          greet:
            entrypoint: hoist_hello.actions:Greet
    """,
    "hoist_hello/actions.py": """
        from pydantic import BaseModel

        from hoist import BaseAction


        class GreetParams(BaseModel):
            name: str


        class Greet(BaseAction[GreetParams]):
            def execute(self):
                return f"hello, {self.params.name}"
    """,
    "hoist_shout/__init__.py": '''
        """Shouting, found by scanning (no config.yaml)."""

        from pydantic import BaseModel

        from hoist import action


        class ShoutParams(BaseModel):
            text: str


        @action(name="shout")
        def shout(params: ShoutParams, context):
            return params.text.upper()
    ''',
}


def build_wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel of ``files`` with ``ENTRY_POINTS`` (what any build backend
    writes for ``[project.entry-points."hoist.plugins"]``); no backend needed."""
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    members = {path: textwrap.dedent(text).lstrip("\n") for path, text in files.items()}
    members[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    members[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: hoist-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    members[f"{info}/entry_points.txt"] = ENTRY_POINTS
    record = []
    for path, text in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest())
        record.append(f"{path},sha256={digest.rstrip(b'=').decode()},{len(text.encode())}")
    members[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in members.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package, installed by pip into a fresh folder (as into a site-packages)."""
    wheel = build_wheel(tmp_path_factory.mktemp("dist"), "hoist-hello", "0.3.1", PACKAGE)
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", str(target), str(wheel)], check=True, timeout=300)
    return target


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installed package on ``sys.path`` for one test."""
    monkeypatch.syspath_prepend(str(site))
    return site


def test_installed_plugins_are_listed_beside_folder_plugins(
    installed: Path, write_plugin: WritePlugin
) -> None:
    folder = write_plugin("plugins/calc", {"config.yaml": "name: Calc\ncode: calc\n"})
    found = discover_plugins(folder.parent)
    by_code = {p.code: p for p in found}
    assert list(by_code) == ["calc", "hello", "shout"]
    assert by_code["calc"].distribution is None and by_code["calc"].origin == str(folder)
    assert by_code["hello"].distribution == DIST and by_code["hello"].module == "hoist_hello"
    assert by_code["shout"].distribution == DIST and by_code["shout"].origin == str(DIST)
    problems = sorted(e.message for e in found.errors)
    assert len(problems) == 2
    assert all(p.startswith("hoist-hello 0.3.1, entry point") for p in problems)
    assert "gone = hoist_not_installed" in problems[0] and "is not installed" in problems[0]
    assert "misnamed = hoist_hello" in problems[1] and "code 'hello'" in problems[1]
    assert [p.code for p in discover_plugins(folder.parent, entry_points=False)] == ["calc"]


def test_run_plugin_runs_an_installed_plugin_by_its_code(installed: Path) -> None:
    assert run_plugin("hello", "greet", {"name": "Ada"}) == "hello, Ada"
    assert run_plugin("shout", "shout", {"text": "hi"}) == "HI"


def test_lookups_by_code_suggest_the_nearest(installed: Path) -> None:
    registry = plugin_registry()
    assert registry.get("hello").distribution == DIST
    assert registry.find("helo") is None
    with pytest.raises(PluginNotFoundError, match="did you mean 'hello'") as caught:
        registry.get("helo")
    assert caught.value.suggestions == ["hello"]


def test_the_cli_lists_it_with_its_distribution_and_runs_it(installed: Path, hoist: Any) -> None:
    result = hoist("plugins", "list", str(installed / "no-folder-plugins-here"), "--json")
    assert result.code == 0, result.err
    listed = {p["code"]: p for p in result.json()}
    assert listed["hello"]["distribution"] == {"name": "hoist-hello", "version": "0.3.1"}
    assert listed["hello"]["actions"] == ["greet"] and listed["shout"]["actions"] == ["shout"]
    assert "hoist_not_installed" in result.err  # broken ones reported, not hidden
    ran = hoist("run", "hello", "greet", "-p", "name=Ada", "--json")
    assert ran.code == 0 and "hello, Ada" in ran.out, ran.err


def test_the_server_catalog_offers_installed_plugins(installed: Path, tmp_path: Path) -> None:
    catalog = PluginCatalog((tmp_path,))
    assert [p.code for p in catalog.plugins()] == ["hello", "shout"]
    assert describe_plugin(catalog.get("hello"))["distribution"] == "hoist-hello 0.3.1"
