"""``generate``: render shape images and write them as a YOLO dataset."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory
from hoist.datasets import Annotation, DatasetRef, DatasetStream, Image, write_dataset
from hoist.plugins.types import YOLODataset
from plugin.png import write_gray_png
from plugin.shapes import CATEGORIES, render_scene


class GenerateParams(BaseModel):
    images: int = Field(240, ge=4, le=100_000, description="How many images to render")
    image_size: int = Field(64, ge=16, le=512, description="Side of each square image (px)")
    val_fraction: float = Field(0.25, gt=0, lt=1, description="Share of images in 'val'")
    seed: int = Field(0, description="Random seed (same seed, same images)")


class GenerateResult(BaseModel):
    path: str
    format: str
    dataset: DatasetRef
    images: int
    boxes: int


class GenerateAction(BaseAction[GenerateParams]):
    """Render shape images with boxes and write a YOLO dataset."""

    action_name = "generate"
    category = PluginCategory.DATA_VALIDATION
    output_type = YOLODataset
    result_model = GenerateResult

    def execute(self) -> GenerateResult:
        pipeline = self.ctx.pipeline
        root = (pipeline.datasets_dir if pipeline else self.ctx.artifacts_dir) / "shapes-yolo"
        shutil.rmtree(root, ignore_errors=True)  # a retried node starts afresh
        counts = {"boxes": 0}
        stream = DatasetStream(list(CATEGORIES), self._images(root, counts))
        written = write_dataset(stream, root, "yolo")
        self.log_message(f"rendered {written} images with {counts['boxes']} boxes into {root}")
        ref = DatasetRef(path=str(root), format="yolo")
        return GenerateResult(path=str(root), format="yolo", dataset=ref, images=written,
                              boxes=counts["boxes"])  # fmt: skip

    def _images(self, root: Path, counts: dict[str, int]) -> Iterator[Image]:
        params = self.params
        rng = random.Random(params.seed)
        every = max(2, round(1 / params.val_fraction))
        for i in range(params.images):
            self.ctx.check_cancelled()
            split = "val" if i % every == every - 1 else "train"
            scene = render_scene(rng, params.image_size)
            name = f"shape_{i:05d}.png"
            path = root / "images" / split / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write_gray_png(path, scene.size, scene.size, scene.pixels)
            anns = [Annotation(s.category, s.box) for s in scene.shapes]
            counts["boxes"] += len(anns)
            yield Image(name, scene.size, scene.size, split, anns, str(path))
            self.set_progress(i + 1, params.images)
