"""``BaseInferenceAction``: a model loaded once per process, batched prediction with
progress, and the same model as a Serve deployment class."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hoist.errors import ActionFailedError
from hoist.executors.local import LocalExecutor
from hoist.plugins.actions import BaseInferenceAction, InferenceParams, InferenceResult
from hoist.plugins.actions.inference import clear_model_cache, model_cache_keys
from hoist.runs.models import ProgressEvent
from hoist.runs.sinks.memory import MemorySink


class Scale(BaseInferenceAction[InferenceParams]):
    """y = scale * x + bias, with weights from a JSON file."""

    loads: list[str | None] = []

    def load_model(self) -> dict[str, float]:
        type(self).loads.append(self.params.weights_path)
        if self.params.weights_path is None:
            return {"scale": 1.0, "bias": 0.0}
        return dict(json.loads(Path(self.params.weights_path).read_text()))

    def predict_batch(self, items: list[Any]) -> Sequence[Any]:
        return [self.model["scale"] * x + self.model["bias"] for x in items]


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    clear_model_cache()
    Scale.loads = []
    yield
    clear_model_cache()


@pytest.fixture
def weights(tmp_path: Path) -> str:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"scale": 2.0, "bias": 1.0}))
    return str(path)


def test_batched_prediction_with_progress(weights: str) -> None:
    sink = MemorySink()
    ex = LocalExecutor(sink=sink, progress_interval=0)
    params = {"inputs": [1, 2, 3, 4, 5], "batch_size": 2, "weights_path": weights}
    result = ex.execute(Scale, params)
    assert isinstance(result, InferenceResult)
    assert result.predictions == [3.0, 5.0, 7.0, 9.0, 11.0]
    assert (result.count, result.batches, result.model_loaded) == (5, 3, True)
    (run_id,) = list(sink.runs)
    bars = [(e.current, e.total) for e in sink.events(run_id)
            if isinstance(e, ProgressEvent) and e.category == "inference"]  # fmt: skip
    assert bars == [(2, 5), (4, 5), (5, 5)]


def test_the_model_loads_once_across_runs_in_one_process(weights: str, tmp_path: Path) -> None:
    ex = LocalExecutor(sink=MemorySink())
    first = ex.execute(Scale, {"inputs": [1], "weights_path": weights})
    second = ex.execute(Scale, {"inputs": [2, 3], "weights_path": weights})
    assert (first.model_loaded, second.model_loaded) == (True, False)
    assert second.predictions == [5.0, 7.0]
    assert Scale.loads == [weights]
    # other weights are another model; params that do not select the model share it
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"scale": 0.0, "bias": 4.0}))
    third = ex.execute(Scale, {"inputs": [1], "weights_path": str(other), "batch_size": 7})
    assert third.model_loaded and third.predictions == [4.0]
    assert Scale.loads == [weights, str(other)]
    assert len(model_cache_keys()) == 2


def test_a_batch_with_the_wrong_number_of_predictions_fails() -> None:
    class Short(Scale):
        def predict_batch(self, items: list[Any]) -> Sequence[Any]:
            return items[:-1]

    with pytest.raises(ActionFailedError, match="returned 1 predictions for 2 items"):
        LocalExecutor(sink=MemorySink()).execute(Short, {"inputs": [1, 2]})


def test_load_model_is_required() -> None:
    class NoModel(BaseInferenceAction[InferenceParams]):
        pass

    with pytest.raises(ActionFailedError, match=r"NoModel must implement load_model\(\)"):
        LocalExecutor(sink=MemorySink()).execute(NoModel, {"inputs": [1]})


def test_serve_deployment_class_uses_the_same_warm_model(weights: str) -> None:
    deployment = Scale.serve_deployment(batch_size=2)
    assert deployment.__name__ == "ScaleDeployment"
    replica = deployment(weights_path=weights)
    assert replica.predict([1, 2, 3]) == [3.0, 5.0, 7.0]
    # a second replica in this process, and a task run, reuse the loaded model
    deployment(weights_path=weights)
    run = LocalExecutor(sink=MemorySink()).execute(Scale, {"inputs": [1], "weights_path": weights})
    assert not run.model_loaded and Scale.loads == [weights]


MODEL = """
import json
from pathlib import Path

from hoist.plugins.actions import BaseInferenceAction, InferenceParams


class Scale(BaseInferenceAction[InferenceParams]):
    def load_model(self):
        return json.loads(Path(self.params.weights_path).read_text())

    def predict_batch(self, items):
        return [self.model["scale"] * x + self.model["bias"] for x in items]
"""

SERVE = """
from pydantic import BaseModel

from hoist.deployment.serve_action import BaseDeploymentAction
from plugin.model import Scale


class ServeParams(BaseModel):
    num_cpus: float = 0.1


class ServeScale(BaseDeploymentAction[ServeParams]):
    entrypoint = Scale.serve_deployment(weights_path={weights!r})
"""

CONFIG = """
name: Scale
code: category_scale
version: 0.1.0
category: neural_net
actions:
  predict:
    entrypoint: plugin.model:Scale
  serve:
    entrypoint: plugin.serve:ServeScale
    method: serve
"""


def test_the_deployment_class_deploys_on_ray_serve(
    tmp_path: Path, weights: str, ray_cluster: Any
) -> None:
    import httpx
    from tests.conftest import write_files

    from hoist.deployment.records import DeploymentRecords
    from hoist.deployment.serving import delete_app
    from hoist.plugins.discovery import load_plugin
    from hoist.runs.runtime import get_runtime

    folder = write_files(tmp_path / "category_scale", {
        "config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/model.py": MODEL,
        "plugin/serve.py": SERVE.format(weights=weights),
    })  # fmt: skip
    app = "category_scale-0.1.0"
    try:
        with LocalExecutor(env={"RAY_ADDRESS": ray_cluster.address}) as executor:
            prepared = executor.prepare_plugin(load_plugin(folder), "serve", {})
            executor.execute_prepared(prepared)
            executor.sink.flush()
        record = DeploymentRecords(get_runtime().store.engine).get(app)
        assert record.status == "running" and record.endpoint
        answer = httpx.post(record.endpoint, json={"inputs": [1, 2]}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": [3.0, 5.0]}
        bare = httpx.post(record.endpoint, json=[10], timeout=30)
        assert bare.json() == {"predictions": [21.0]}
    finally:
        delete_app(app)


def test_importing_the_bases_does_not_import_ray() -> None:
    import subprocess

    code = "import hoist.plugins.actions, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
