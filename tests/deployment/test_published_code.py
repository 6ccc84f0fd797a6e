"""A deployment's ``code_path`` may be a published plugin package: the ``process``
strategy serves a plugin's action from its archive (a file, or ``LOCATION:CODE@VERSION``),
verified before anything is unpacked."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import need, write_files

if importlib.util.find_spec("uvicorn") is None:
    need("uvicorn is not installed (pip install 'hoist[server]')")

from hoist.deployment import DeployConfig, DeploymentFactory, StrategyRegistry
from hoist.plugins.packaging import (
    ChecksumMismatchError,
    build_package,
    publish_plugin,
)
from hoist.runs.runtime import Runtime
from tests.deployment.test_process_strategy import PLUGIN_ACTIONS, PLUGIN_CONFIG


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    files = {"config.yaml": PLUGIN_CONFIG, "plugin/__init__.py": "",
             "plugin/actions.py": PLUGIN_ACTIONS}  # fmt: skip
    return write_files(tmp_path / "calc", files)


def test_served_from_a_published_reference(plugin: Path, runtime: Runtime, tmp_path: Path) -> None:
    home = runtime.settings.home
    home.mkdir(parents=True, exist_ok=True)
    shelf = tmp_path / "shelf"
    (home / "storage.yaml").write_text(f"storage:\n  shelf:\n    url: {shelf.as_uri()}\n")
    publish_plugin(plugin, to="shelf", settings=runtime.settings)

    config = DeployConfig(code_path="shelf:calc@0.1.0", action="double")
    registry = StrategyRegistry(entry_points=False)
    with DeploymentFactory.create("process", config, registry=registry) as software:
        assert software(x=5) == {"status": "success", "output": {"y": 10}}
        code_path = Path(str(software.info.code_path))
    assert code_path.parent.parent == home / "cache" / "packages"
    assert code_path.name == "calc" and (code_path / "plugin" / "actions.py").is_file()


def test_served_from_an_archive_file_and_a_wrong_checksum_refused(
    plugin: Path, runtime: Runtime, tmp_path: Path
) -> None:
    built = build_package(plugin, tmp_path / "dist")
    registry = StrategyRegistry(entry_points=False)
    config = DeployConfig(code_path=str(built.archive), action="double")
    with DeploymentFactory.create("process", config, registry=registry) as software:
        assert software(x=7) == {"status": "success", "output": {"y": 14}}

    built.checksum_file.write_text("0" * 64 + f"  {built.archive.name}\n")
    cache = runtime.settings.home / "cache" / "packages"
    before = sorted(cache.iterdir())
    with pytest.raises(ChecksumMismatchError):
        DeploymentFactory.create("process", config, registry=registry)
    assert sorted(cache.iterdir()) == before  # nothing unpacked for it
