"""Generated datasets (tests, benchmarks, examples): random images sizes, boxes,
polygons and keypoints, with image files that carry only a PNG header (enough for every
reader; not a decodable picture). No download, fully determined by ``seed``."""

from __future__ import annotations

import random
from pathlib import Path

from hoist.datasets.imagesize import png_header
from hoist.datasets.model import Annotation, Dataset, Image

__all__ = ["generate"]


def generate(
    root: Path, *, images: int = 10, boxes: int = 3, categories: int = 3,
    segmentation: bool = False, keypoints: int = 0, splits: tuple[str, ...] = ("train", "val"),
    seed: int = 0,
) -> Dataset:  # fmt: skip
    """A dataset of ``images`` images with ``boxes`` annotations each, its image files
    written under ``root/<split>/``. With ``segmentation`` each annotation is a polygon
    (its box the polygon's bounds); with ``keypoints`` each has that many keypoints."""
    rng = random.Random(seed)
    names = [f"class_{i}" for i in range(categories)]
    out = Dataset(names, [], keypoints)
    for i in range(images):
        split = splits[i % len(splits)]
        w, h = rng.randint(32, 1920), rng.randint(32, 1080)
        anns = []
        for _ in range(boxes):
            bw, bh = rng.uniform(1, w), rng.uniform(1, h)
            x, y = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
            ann = Annotation(rng.randrange(categories), (x, y, bw, bh))
            if segmentation:
                poly = [x, y, x + bw, y + rng.uniform(0, bh), x + rng.uniform(0, bw), y + bh]
                ann.segmentation = [poly]
                xs, ys = poly[0::2], poly[1::2]
                ann.bbox = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
            if keypoints:
                kp: list[float] = []
                for _ in range(keypoints):
                    kp += [
                        rng.uniform(x, x + bw),
                        rng.uniform(y, y + bh),
                        float(rng.choice((0, 1, 2))),
                    ]
                ann.keypoints = kp
            anns.append(ann)
        file = f"img_{i:07d}.png"
        path = root / split / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_header(w, h))
        out.images.append(Image(file, w, h, split, anns, path))
    return out
