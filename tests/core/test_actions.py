"""BaseAction and @action: params models, metadata, result models, every executor path."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from hoist.errors import ActionFailedError, ParamsValidationError, ResultValidationError
from hoist.executors.local import LocalExecutor
from hoist.plugins.action import AnyParams, BaseAction
from hoist.plugins.categories import PluginCategory
from hoist.plugins.context import RuntimeContext
from hoist.plugins.decorators import action, as_action_class, is_action
from hoist.plugins.types import Dataset, ModelWeights, YOLODataset, is_compatible
from hoist.runs.models import RunStatus
from hoist.runs.sinks.memory import MemorySink


class TrainParams(BaseModel):
    epochs: int = Field(10, ge=1, le=100)
    batch_size: int = Field(32, ge=1, le=1024)
    name: str


class TrainResult(BaseModel):
    epochs_run: int
    name: str


class TrainModelAction(BaseAction[TrainParams]):
    """Train a tiny model.

    More text.
    """

    category = PluginCategory.NEURAL_NET
    result_model = TrainResult
    input_type = YOLODataset
    output_type = ModelWeights

    def execute(self) -> TrainResult:
        for epoch in range(self.params.epochs):
            self.set_progress(epoch + 1, self.params.epochs)
        return TrainResult(epochs_run=self.params.epochs, name=self.params.name)


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def executor(sink: MemorySink) -> LocalExecutor:
    return LocalExecutor(sink=sink, progress_interval=0)


def test_metadata_from_class() -> None:
    assert TrainModelAction.params_model is TrainParams
    assert TrainModelAction.action_name == "train_model"
    assert TrainModelAction.description == "Train a tiny model."
    assert TrainModelAction.category == "neural_net"


def test_typed_result(executor: LocalExecutor, sink: MemorySink) -> None:
    result = executor.execute(TrainModelAction, {"epochs": 3, "name": "m"})
    assert result == TrainResult(epochs_run=3, name="m")
    (run,) = sink.runs.values()
    assert run.status is RunStatus.SUCCEEDED
    assert run.result == {"epochs_run": 3, "name": "m"}
    assert run.params == {"epochs": 3, "batch_size": 32, "name": "m"}
    types = [e.type for e in sink.events(run.id)]
    assert types == ["status", "progress", "progress", "progress", "result", "status"]


def test_invalid_params_name_every_field_and_rule(executor: LocalExecutor) -> None:
    with pytest.raises(ParamsValidationError) as info:
        executor.execute(TrainModelAction, {"epochs": 0, "batch_size": 4096})
    assert info.value.field_errors == {
        "epochs": ["must be >= 1"],
        "batch_size": ["must be <= 1024"],
        "name": ["field required"],
    }
    assert "batch_size: must be <= 1024" in str(info.value)


def test_invalid_params_record_no_run(executor: LocalExecutor, sink: MemorySink) -> None:
    with pytest.raises(ParamsValidationError):
        executor.execute(TrainModelAction, {"epochs": "many", "name": "x"})
    assert sink.runs == {}


def test_result_not_matching_model_fails_naming_fields(
    executor: LocalExecutor, sink: MemorySink
) -> None:
    class Bad(BaseAction[TrainParams]):
        result_model = TrainResult

        def execute(self) -> dict[str, object]:
            return {"epochs_run": "lots"}

    with pytest.raises(ResultValidationError) as info:
        executor.execute(Bad, {"name": "x"})
    assert set(info.value.field_errors) == {"epochs_run", "name"}
    (run,) = sink.runs.values()
    assert run.status is RunStatus.FAILED
    assert run.error is not None and run.error["field_errors"]["name"] == ["field required"]


def test_raising_action_keeps_earlier_events_and_traceback(
    executor: LocalExecutor, sink: MemorySink
) -> None:
    class Boom(BaseAction[AnyParams]):
        def execute(self) -> None:
            self.log_message("starting")
            self.set_metrics({"x": 1})
            raise KeyError("missing-thing")

    with pytest.raises(ActionFailedError) as info:
        executor.execute(Boom, {})
    assert info.value.error_type == "KeyError"
    assert isinstance(info.value.__cause__, KeyError)
    (run,) = sink.runs.values()
    events = sink.events(run.id)
    assert [e.type for e in events] == ["status", "message", "metrics", "error", "status"]
    error = events[3]
    assert "Traceback" in error.traceback and "missing-thing" in error.traceback
    assert run.status is RunStatus.FAILED


def test_action_must_implement_execute_or_steps() -> None:
    class Empty(BaseAction[AnyParams]):
        pass

    with pytest.raises(TypeError, match="execute"):
        Empty(AnyParams(), RuntimeContext("r", MemorySink()))


class ConvertParams(BaseModel):
    text: str
    upper: bool = False


class ConvertResult(BaseModel):
    output: str


@action(name="convert", description="Convert text", params=ConvertParams, result=ConvertResult)
def convert(params: ConvertParams, context: RuntimeContext) -> ConvertResult:
    context.set_progress(1, 1)
    return ConvertResult(output=params.text.upper() if params.upper else params.text)


@action
def shout(params: ConvertParams, context: RuntimeContext) -> dict[str, str]:
    """Shout it."""
    return {"out": params.text + "!"}


def test_function_actions_run_in_the_executor(executor: LocalExecutor) -> None:
    assert is_action(convert) and is_action(shout) and not is_action(len)
    assert executor.execute(convert, {"text": "a", "upper": True}) == ConvertResult(output="A")
    cls = as_action_class(shout)
    assert cls.params_model is ConvertParams  # taken from the annotation
    assert cls.action_name == "shout" and cls.description == "Shout it."
    assert executor.execute(shout, {"text": "hey"}) == {"out": "hey!"}


def test_function_actions_stay_callable(sink: MemorySink) -> None:
    ctx = RuntimeContext("r1", sink)
    sink.open_run(__import__("hoist").Run(id="r1"))
    assert convert(ConvertParams(text="x"), ctx) == ConvertResult(output="x")


def test_function_action_params_are_validated(executor: LocalExecutor) -> None:
    with pytest.raises(ParamsValidationError) as info:
        executor.execute(convert, {"upper": "maybe"})
    assert set(info.value.field_errors) == {"text", "upper"}


def test_semantic_type_compatibility() -> None:
    assert is_compatible(YOLODataset, Dataset)
    assert not is_compatible(Dataset, YOLODataset)
    assert not is_compatible(ModelWeights, Dataset)
    assert is_compatible(None, Dataset) and is_compatible(ModelWeights, None)
