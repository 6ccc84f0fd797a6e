"""Fixtures for the deployment tests: strategy folders written on the fly, and the sample
code folder every strategy's contract runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

SAMPLE_MAIN = """
def predict(inputs):
    if inputs.get("fail"):
        raise ValueError("asked to fail: " + str(inputs["fail"]))
    return {"doubled": inputs["x"] * 2}
"""

# The seed's custom strategy example (Kapso's docs), with only its imports changed.
SEED_RUNNER = '''
from hoist.deployment.strategies import Runner
from typing import Any, Dict

class MyStrategyRunner(Runner):
    """Runner for my custom strategy."""

    def __init__(
        self,
        code_path: str,
        module: str = "main",
        callable: str = "predict",
        **kwargs,
    ):
        self.code_path = code_path
        self.module = module
        self.callable = callable
        self._running = False

    def run(self, inputs: Dict[str, Any]) -> Dict[str, Any]:
        """Execute with inputs."""
        if not self._running:
            self.start()

        try:
            # Your execution logic here
            result = self._execute(inputs)
            return {"status": "success", "output": result}
        except Exception as e:
            return {"status": "error", "error": str(e)}

    def start(self) -> None:
        self._running = True

    def stop(self) -> None:
        self._running = False

    def is_healthy(self) -> bool:
        return self._running

    def get_logs(self) -> str:
        return ""

    def _execute(self, inputs: Dict) -> Any:
        """Internal execution logic."""
        # Implement your execution here
        pass
'''

SEED_CONFIG = """
name: my_strategy
description: "My custom deployment strategy"

# Default run interface
run_interface:
  type: "function"
  module: "main"
  callable: "predict"

# Resource requirements
resources:
  cpu: "1"
  memory: "1Gi"
  gpu: false

# Strategy-specific settings
settings:
  timeout: 300
  retries: 3
"""


def write_strategy(
    root: Path,
    name: str,
    *,
    runner: str = SEED_RUNNER,
    config: str | None = None,
    selector: str | None = "## Selector\nUse it.\n",
    adapter: str | None = "## Adapter\nAdapt it.\n",
    suffix: str = ".txt",
) -> Path:
    """Write a strategy folder ``root/name`` (``None`` leaves a file out)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("from .runner import *  # noqa: F403\n")
    if runner is not None:
        (folder / "runner.py").write_text(textwrap.dedent(runner))
    text = config if config is not None else SEED_CONFIG.replace("my_strategy", name)
    (folder / "config.yaml").write_text(text)
    if selector is not None:
        (folder / f"selector_instruction{suffix}").write_text(selector)
    if adapter is not None:
        (folder / f"adapter_instruction{suffix}").write_text(adapter)
    return folder


@pytest.fixture
def sample_code(tmp_path: Path) -> Path:
    """The contract's code folder: ``main.py`` with ``predict(inputs)``."""
    folder = tmp_path / "sample"
    folder.mkdir()
    (folder / "main.py").write_text(SAMPLE_MAIN)
    return folder
