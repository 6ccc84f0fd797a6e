"""The seed's "Creating Your First Plugin" tutorial, with only its import lines changed."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.seeds.importable import importable_package

PARAMS = '''
from pydantic import BaseModel, Field

class ProcessParams(BaseModel):
    """Parameters for the process action."""
    input_path: str = Field(..., description='Path to input file')
    output_path: str = Field(..., description='Path to output file')
    batch_size: int = Field(default=32, ge=1, le=1024)
    verbose: bool = False
'''

ACTIONS = '''
from hoist import BaseAction
from hoist import PluginCategory
from my_plugin.params import ProcessParams

class ProcessAction(BaseAction[ProcessParams]):
    """Process files with progress tracking."""
    action_name = 'process'
    category = PluginCategory.CUSTOM

    def execute(self) -> dict:
        # Access validated parameters
        input_path = self.params.input_path
        output_path = self.params.output_path
        # Log events
        self.log('process_start', {'input': input_path})
        # Simulate processing with progress
        total_items = 100
        for i in range(total_items):
            # Update progress (current, total)
            self.set_progress(i + 1, total_items)
            if self.params.verbose:
                self.log('item_processed', {'index': i})
        # Log metrics
        self.set_metrics({'items_processed': total_items}, category='process')
        # Return result
        return {
            'status': 'completed',
            'output_path': output_path,
            'items_processed': total_items,
        }
'''

CONFIG = """\
# my_plugin/config.yaml
name: My Plugin
code: my_plugin
version: 0.1.0
category: custom
actions:
  process:
    name: Process Files
    description: Process input files with batch processing
    entrypoint: my_plugin.actions:ProcessAction
    method: task
"""

RUN = """
from hoist import run_plugin

result = run_plugin(
    plugin_code='my_plugin',  # Module path
    action='process',
    params={
        'input_path': '/data/input.csv',
        'output_path': '/data/output.csv',
        'batch_size': 64,
        'verbose': True,
    },
    mode='local',  # Run in current process
)
print(f"Result: {result}")
"""


@pytest.fixture
def tutorial(tmp_path: Path) -> Iterator[Path]:
    files = {"params.py": PARAMS, "actions.py": ACTIONS, "config.yaml": CONFIG}
    with importable_package(tmp_path, "my_plugin", files):
        yield tmp_path


def test_tutorial_runs_with_only_imports_changed(
    tutorial: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(textwrap.dedent(RUN), "run.py", "exec"), {})
    out = capsys.readouterr().out
    assert out.strip() == (
        "Result: {'status': 'completed', 'output_path': '/data/output.csv', 'items_processed': 100}"
    )


def test_tutorial_run_is_recorded(tutorial: Path) -> None:
    from hoist import run_plugin
    from hoist.runs.runtime import get_runtime

    run_plugin("my_plugin", "process", {"input_path": "a", "output_path": "b"}, mode="local")
    runtime = get_runtime()
    runtime.sink.flush()
    (run,) = runtime.store.list_runs()
    assert (run.plugin, run.action, run.status) == ("my_plugin", "process", "succeeded")
    assert run.params["batch_size"] == 32
    types = [e.type for e in runtime.store.events(run.id)]
    assert types[0] == "status" and types[1] == "custom" and types[-1] == "status"
    assert "metrics" in types


def test_tutorial_batch_size_rule(tutorial: Path) -> None:
    from hoist import ParamsValidationError, run_plugin

    with pytest.raises(ParamsValidationError, match="batch_size: must be <= 1024"):
        run_plugin(
            "my_plugin", "process", {"input_path": "a", "output_path": "b", "batch_size": 4096}
        )
