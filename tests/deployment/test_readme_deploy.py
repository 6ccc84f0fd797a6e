"""The README's deployment snippet, run as a reader would: in a folder holding
``my_model/main.py``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    (found,) = [b for b in blocks if "DeploymentFactory.create(" in b]
    return found


def test_the_readme_deployment_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "my_model").mkdir()
    (tmp_path / "my_model" / "main.py").write_text(
        "def predict(inputs):\n    return {'echo': inputs['text']}\n"
    )
    env = {**os.environ, "HOIST_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", _snippet()], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'status': 'success', 'output': {'echo': 'hi'}}"
