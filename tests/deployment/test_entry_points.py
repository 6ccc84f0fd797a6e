"""A strategy shipped in an installed distribution (entry point group ``hoist.strategies``)
is discovered: a tiny distribution is installed by pip into a temporary site folder, and
`hoist strategies list` in a process that has it on its path lists it, as does a deploy.

The wheel is assembled here (zip + ``.dist-info``) because building one from a
``pyproject.toml`` needs the ``wheel`` package, which this offline environment lacks; pip
installs it as it installs any wheel (``--no-deps --no-index --target``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import HOIST

RUNNER = '''
from typing import Any

from hoist.deployment import Runner


class TinyRunner(Runner):
    """Answers its inputs' ``x`` doubled, in the caller's process."""

    def __init__(self, **kwargs: Any) -> None:
        self.running = False

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"status": "success", "output": {"y": inputs["x"] * 2}}

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def is_healthy(self) -> bool:
        return self.running
'''

FILES = {
    "tiny_strategy/__init__.py": "",
    "tiny_strategy/runner.py": RUNNER,
    "tiny_strategy/config.yaml": "name: tiny\ndescription: A tiny installed strategy.\n",
    "tiny_strategy/selector_instruction.md": "Choose it for tests.\n",
    "tiny_strategy/adapter_instruction.md": "Nothing to adapt.\n",
}

DIST_INFO = "tiny_strategy-0.1.0.dist-info"
META = {
    f"{DIST_INFO}/METADATA": "Metadata-Version: 2.1\nName: tiny-strategy\nVersion: 0.1.0\n",
    f"{DIST_INFO}/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: hoist-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
    f"{DIST_INFO}/entry_points.txt": "[hoist.strategies]\ntiny = tiny_strategy\n",
}


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(folder: Path) -> Path:
    """The tiny distribution's wheel, written into ``folder``."""
    wheel = folder / "tiny_strategy-0.1.0-py3-none-any.whl"
    contents = {name: text.encode() for name, text in {**FILES, **META}.items()}
    record = [_record_line(name, data) for name, data in contents.items()]
    record.append(f"{DIST_INFO}/RECORD,,")
    contents[f"{DIST_INFO}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return wheel


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site folder the tiny distribution is installed into by pip."""
    target = tmp_path / "site"
    wheel = build_wheel(tmp_path)
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
               "--disable-pip-version-check", "--target", str(target), str(wheel)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / DIST_INFO / "entry_points.txt").is_file()
    assert (target / "tiny_strategy" / "config.yaml").is_file()
    return target


def _hoist(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}
    return subprocess.run([*HOIST, *args], capture_output=True, text=True, env=env, timeout=120)


def test_an_installed_distribution_s_strategy_is_listed(site: Path) -> None:
    listed = _hoist(site, "strategies", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    (tiny,) = [s for s in data["strategies"] if s["name"] == "tiny"]
    assert tiny["source"] == "entry point tiny = tiny_strategy (tiny-strategy 0.1.0)"
    assert Path(tiny["path"]) == site / "tiny_strategy"
    assert not [b for b in data["broken"] if b["name"] == "tiny"]
    table = _hoist(site, "strategies", "list")
    assert "tiny" in table.stdout and "A tiny installed strategy." in table.stdout


def test_without_the_distribution_it_is_not_listed(tmp_path: Path) -> None:
    listed = _hoist(tmp_path, "strategies", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "tiny" not in [s["name"] for s in json.loads(listed.stdout)["strategies"]]


def test_an_installed_strategy_deploys(site: Path, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    script = (
        "from hoist.deployment import DeployConfig, DeploymentFactory\n"
        f"software = DeploymentFactory.create('tiny', DeployConfig(code_path={str(code)!r}))\n"
        "with software:\n"
        "    print(software.run({'x': 21})['output']['y'])\n"
    )
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": path}, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
