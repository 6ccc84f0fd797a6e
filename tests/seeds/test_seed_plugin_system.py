"""The plugin-system seed (``004_*``): each snippet that names an API Hoist has, with
only its import lines changed (``synapse_sdk.plugins...`` -> ``hoist``), run as written.
Where a snippet uses a name it never defines (``MyContext``, ``load_data``,
``convert_file``), the test defines it first, as the snippet's reader would.

The ``self.autolog('ultralytics')`` TrainAction runs as written too; Ultralytics itself
cannot be installed beside this machine's CPU PyTorch (no CPU torchvision for it here), so
the test checks what a user without it gets: the run fails saying what to install.
Not here: the Ray executors' snippets (tests/seeds/test_seed_ray.py) and the pipeline guide's
(tests/seeds/test_seed_pipelines.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoist.runs.runtime import get_runtime
from tests.seeds.importable import importable_package


def run(snippet: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    """Execute a seed snippet; returns its namespace."""
    scope: dict[str, Any] = {"__name__": "seed_snippet"} if namespace is None else namespace
    exec(compile(textwrap.dedent(snippet), "seed_snippet.py", "exec"), scope)
    return scope


def recorded() -> list[Any]:
    runtime = get_runtime()
    runtime.sink.flush()
    return runtime.store.list_runs()


KEY_CONCEPTS_ACTION = """
from hoist import BaseAction
from pydantic import BaseModel

class TrainParams(BaseModel):
    epochs: int = 10
    learning_rate: float = 0.001

class TrainAction(BaseAction[TrainParams]):
    def execute(self) -> dict:
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs)
            # Training logic here
        return {'status': 'completed'}
"""

LOCAL_EXECUTOR = """
from hoist import LocalExecutor

executor = LocalExecutor(
    env={'DEBUG': 'true'},  # Environment variables
    job_id='test-123',  # Optional job tracking ID
)

result = executor.execute(
    action_cls=TrainAction,
    params={'epochs': 10},
)
"""


def test_key_concepts_action_with_the_local_executor() -> None:
    scope = run(KEY_CONCEPTS_ACTION)
    scope = run(LOCAL_EXECUTOR, scope)
    assert scope["result"] == {"status": "completed"}
    (run_,) = recorded()
    assert (run_.action, run_.status, run_.params) == (
        "train", "succeeded", {"epochs": 10, "learning_rate": 0.001},
    )  # fmt: skip


STEP = """
from hoist import BaseStep, StepResult

class LoadDataStep(BaseStep[MyContext]):
    @property
    def name(self) -> str:
        return 'load_data'

    @property
    def progress_weight(self) -> float:
        return 0.3  # 30% of total progress

    def execute(self, context: MyContext) -> StepResult:
        context.data = load_data()
        return StepResult(success=True)
"""


def test_a_step_with_property_name_and_weight_runs_in_an_action() -> None:
    from dataclasses import dataclass

    from hoist import BaseAction, BaseStepContext, LocalExecutor, StepRegistry

    @dataclass
    class MyContext(BaseStepContext):
        data: Any = None

    scope = run(STEP, {"MyContext": MyContext, "load_data": lambda: [1, 2, 3]})
    step_cls = scope["LoadDataStep"]

    class Load(BaseAction):  # type: ignore[type-arg]
        def setup_steps(self, registry: StepRegistry[MyContext]) -> None:
            registry.register(step_cls())

        def create_context(self) -> MyContext:
            return MyContext(runtime_ctx=self.ctx, params=self.params)

        def step_result(self, context: MyContext) -> Any:  # type: ignore[override]
            return {"rows": len(context.data)}

    assert LocalExecutor().execute(Load, {}) == {"rows": 3}
    runtime = get_runtime()
    (run_,) = recorded()
    steps = [e for e in runtime.store.events(run_.id) if e.type == "step"]
    assert [(e.step, e.phase) for e in steps] == [  # type: ignore[union-attr]
        ("load_data", "started"), ("load_data", "finished"),
    ]  # fmt: skip


FUNCTION_ACTION = """
from hoist import action
from hoist import RuntimeContext
from pydantic import BaseModel

class ConvertParams(BaseModel):
    input_format: str
    output_format: str
    file_path: str

class ConvertResult(BaseModel):
    output_path: str
    converted: bool

@action(
    name='convert',
    description='Convert file between formats',
    params=ConvertParams,
    result=ConvertResult,
)
def convert(params: ConvertParams, context: RuntimeContext) -> ConvertResult:
    \"\"\"Convert a file from one format to another.\"\"\"
    # Log progress
    context.set_progress(0, 100)

    # Conversion logic
    output_path = convert_file(
        params.file_path,
        params.input_format,
        params.output_format,
    )

    context.set_progress(100, 100)
    return ConvertResult(
        output_path=output_path,
        converted=True,
    )
"""


def test_function_action() -> None:
    from hoist import LocalExecutor

    def convert_file(path: str, source: str, target: str) -> str:
        return path.removesuffix(f".{source}") + f".{target}"

    scope = run(FUNCTION_ACTION, {"__name__": "seed_snippet", "convert_file": convert_file})
    params = {"input_format": "csv", "output_format": "json", "file_path": "a.csv"}
    result = LocalExecutor().execute(scope["convert"], params)
    assert result == scope["ConvertResult"](output_path="a.json", converted=True)
    (run_,) = recorded()
    assert (run_.action, run_.result) == ("convert", {"output_path": "a.json", "converted": True})


CATEGORY = """
from hoist import PluginCategory

class MyAction(BaseAction[MyParams]):
    category = PluginCategory.NEURAL_NET
"""


def test_plugin_category() -> None:
    from pydantic import BaseModel

    from hoist import BaseAction

    class MyParams(BaseModel):
        pass

    scope = run(CATEGORY, {"BaseAction": BaseAction, "MyParams": MyParams})
    assert scope["MyAction"].category == "neural_net"
    assert scope["MyAction"].params_model is MyParams


RUNTIME_CONTEXT = """
class ContextTour(BaseAction[TrainParams]):
    def execute(self) -> dict:
        # Access the logger
        self.ctx.logger.info('Processing started')

        # Access environment variables
        api_key = self.ctx.env.get('API_KEY')
        debug = self.ctx.env.get('DEBUG', 'false') == 'true'

        # Log structured events
        self.ctx.log('event_name', {'key': 'value'})

        # Track progress
        self.ctx.set_progress(current=50, total=100, category='training')

        # Record metrics
        self.ctx.set_metrics({'loss': 0.05, 'accuracy': 0.95}, category='train')

        # Log user-visible messages
        self.ctx.log_message('Training complete!')

        # Log developer debug events
        self.ctx.log_dev_event('checkpoint_saved', {'path': '/model.pt'})

        # Access job ID for tracking
        job_id = self.ctx.job_id

        # Access backend client (if available)
        if self.ctx.client:
            self.ctx.client.upload_file(...)
        return {'api_key': api_key, 'debug': debug, 'job_id': job_id}
"""


def test_runtime_context_reference() -> None:
    scope = run(KEY_CONCEPTS_ACTION)
    scope = run(RUNTIME_CONTEXT, scope)
    from hoist import LocalExecutor

    executor = LocalExecutor(env={"DEBUG": "true", "API_KEY": "k"}, job_id="job-7")
    assert executor.execute(scope["ContextTour"], {}) == {
        "api_key": "k", "debug": True, "job_id": "job-7",
    }  # fmt: skip
    runtime = get_runtime()
    (run_,) = recorded()
    types = [e.type for e in runtime.store.events(run_.id)]
    assert types == [
        "status", "log", "custom", "progress", "metrics", "message", "dev", "result", "status",
    ]  # fmt: skip


PLUGIN_ENVIRONMENT = """
from hoist import PluginEnvironment

# From environment variables with prefix
env = PluginEnvironment.from_environ(prefix='PLUGIN_')

# From TOML file
env = PluginEnvironment.from_file('config.toml')

# Type-safe getters
api_key = env.get_str('API_KEY')
batch_size = env.get_int('BATCH_SIZE', default=32)
learning_rate = env.get_float('LEARNING_RATE', default=0.001)
debug = env.get_bool('DEBUG', default=False)
tags = env.get_list('TAGS', default=[])

# Merge multiple environments
merged = env.merge(another_env)
"""


def test_plugin_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hoist import PluginEnvironment

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLUGIN_BATCH_SIZE", "8")
    (tmp_path / "config.toml").write_text('DEBUG = "yes"\nTAGS = "a, b"\n')
    scope = run(PLUGIN_ENVIRONMENT, {"another_env": PluginEnvironment({"API_KEY": "merged"})})
    assert scope["api_key"] is None  # not set anywhere: None, as the seed implies
    assert (scope["batch_size"], scope["learning_rate"]) == (32, 0.001)
    assert (scope["debug"], scope["tags"]) == (True, ["a", "b"])
    assert scope["merged"].get_str("API_KEY") == "merged"


MY_PLUGIN_TRAIN = """
from hoist import BaseAction
from pydantic import BaseModel

class TrainParams(BaseModel):
    epochs: int = 10

class TrainAction(BaseAction[TrainParams]):
    def execute(self) -> dict:
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs)
        return {'status': 'completed', 'epochs': self.params.epochs}
"""

RUN_PLUGIN_LOCAL = """
from hoist import run_plugin

result = run_plugin(
    plugin_code='my_plugin',
    action='train',
    params={'epochs': 10},
    mode='local',
)
"""


@pytest.fixture
def my_plugin(tmp_path: Path) -> Iterator[Path]:
    """``my_plugin`` importable as a module, declaring ``method: task`` for train."""
    config = (
        "name: My Plugin\ncode: my_plugin\nversion: 0.1.0\ncategory: neural_net\nactions:\n"
        "  train:\n    entrypoint: my_plugin.actions:TrainAction\n    method: task\n"
    )
    files = {"actions.py": MY_PLUGIN_TRAIN, "config.yaml": config}
    with importable_package(tmp_path, "my_plugin", files) as package:
        yield package


def test_run_plugin_in_local_mode(my_plugin: Path) -> None:
    scope = run(RUN_PLUGIN_LOCAL)
    assert scope["result"] == {"status": "completed", "epochs": 10}
    (run_,) = recorded()
    assert (run_.plugin, run_.action, run_.mode) == ("my_plugin", "train", "local")


TRAIN_ACTION = """
from hoist import BaseAction
from hoist import PluginCategory
from hoist.plugins.types import YOLODataset, ModelWeights

class TrainAction(BaseAction[TrainParams]):
    \"\"\"Train a YOLO model with comprehensive features.\"\"\"
    # Optional class attributes
    action_name = 'train'
    category = PluginCategory.NEURAL_NET
    input_type = YOLODataset  # Semantic input type
    output_type = ModelWeights  # Semantic output type
    result_model = TrainResult  # Typed result schema

    def execute(self) -> TrainResult:
        # Enable automatic logging for Ultralytics
        self.autolog('ultralytics')
        # Access environment variables
        api_key = self.ctx.env.get('API_KEY', '')
        # Use the logger
        self.logger.info('Starting training')
        # Training implementation
        model = train_model(self.params)
        return TrainResult(
            weights_path=model.path,
            final_loss=model.loss,
        )
"""


def test_the_autolog_train_action_as_written() -> None:
    import importlib.util
    from types import SimpleNamespace

    from pydantic import BaseModel

    from hoist import LocalExecutor
    from hoist.errors import ActionFailedError

    class TrainParams(BaseModel):
        epochs: int = 1

    class TrainResult(BaseModel):
        weights_path: str
        final_loss: float

    def train_model(params: TrainParams) -> SimpleNamespace:
        return SimpleNamespace(path="/tmp/best.pt", loss=0.25)

    scope = run(TRAIN_ACTION, {
        "__name__": "seed_snippet", "TrainParams": TrainParams, "TrainResult": TrainResult,
        "train_model": train_model,
    })  # fmt: skip
    action_cls = scope["TrainAction"]
    assert action_cls.action_name == "train"
    if importlib.util.find_spec("ultralytics") is not None:
        result = LocalExecutor().execute(action_cls, {"epochs": 1})
        assert result == TrainResult(weights_path="/tmp/best.pt", final_loss=0.25)
        return
    with pytest.raises(ActionFailedError, match="pip install 'ultralytics'") as failed:
        LocalExecutor().execute(action_cls, {"epochs": 1})
    assert failed.value.error_type.endswith("FrameworkNotInstalledError")
    (run_,) = recorded()
    assert run_.status == "failed"
    assert "pip install 'ultralytics'" in str(run_.error)
