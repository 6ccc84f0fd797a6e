"""``generate``: write a synthetic dataset."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory
from hoist.plugins.types import Dataset
from plugin.model import make_dataset, save_dataset


class GenerateParams(BaseModel):
    samples: int = Field(200, ge=10, le=100_000, description="How many points")
    seed: int = Field(7, description="Random seed (same seed, same data)")
    noise: float = Field(0.8, gt=0, le=5, description="Spread of each class")


class GenerateResult(BaseModel):
    dataset_path: str
    samples: int


class GenerateAction(BaseAction[GenerateParams]):
    """Generate a labelled two-feature dataset."""

    action_name = "generate"
    category = PluginCategory.NEURAL_NET
    output_type = Dataset
    result_model = GenerateResult

    def execute(self) -> GenerateResult:
        data = make_dataset(self.params.samples, self.params.seed, self.params.noise)
        folder = self.ctx.pipeline.datasets_dir if self.ctx.pipeline else self.ctx.artifacts_dir
        path = folder / "points.json"
        save_dataset(path, data)
        self.ctx.add_artifact(path)
        self.set_progress(1, 1)
        self.log_message(f"generated {len(data)} points")
        return GenerateResult(dataset_path=str(path), samples=len(data))
