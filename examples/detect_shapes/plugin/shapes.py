"""Scenes of filled rectangles on noise, and the box geometry the example scores with.

Each image holds one large *main* shape and up to two small distractors. The model
learns to find the largest shape (its box and its class): a one-object detector, small
enough to train on a CPU in seconds. Classes differ by fill: ``light``, ``dark`` and
``checkered``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CATEGORIES", "Scene", "Shape", "iou", "largest", "render_scene"]

CATEGORIES = ("light", "dark", "checkered")
Box = tuple[float, float, float, float]  # x, y, width, height in pixels

_NOISE = bytes(96 + b // 4 for b in range(256))  # noise bytes -> 96..159 (background)


@dataclass(frozen=True)
class Shape:
    """One rectangle: its class index and integer pixel box."""

    category: int
    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> Box:
        """``(x, y, width, height)`` as floats."""
        return (float(self.x), float(self.y), float(self.width), float(self.height))


@dataclass(frozen=True)
class Scene:
    """A rendered image (``size`` x ``size`` grayscale bytes) and its shapes."""

    size: int
    pixels: bytes
    shapes: tuple[Shape, ...]


def render_scene(rng: random.Random, size: int = 64, distractors: int = 2) -> Scene:
    """One scene: noise, a main shape (30-60% of the side), then up to ``distractors``
    small ones (8-16%) placed where they do not touch the main shape."""
    pixels = bytearray(rng.randbytes(size * size).translate(_NOISE))
    lo, hi = max(3, int(size * 0.3)), max(4, int(size * 0.6))
    w, h = rng.randint(lo, hi), rng.randint(lo, hi)
    main = Shape(
        rng.randrange(len(CATEGORIES)), rng.randint(0, size - w), rng.randint(0, size - h), w, h
    )
    shapes = [main]
    small_lo, small_hi = max(2, int(size * 0.08)), max(3, int(size * 0.16))
    for _ in range(rng.randint(0, distractors)):
        for _attempt in range(20):
            sw, sh = rng.randint(small_lo, small_hi), rng.randint(small_lo, small_hi)
            cand = Shape(rng.randrange(len(CATEGORIES)), rng.randint(0, size - sw),
                         rng.randint(0, size - sh), sw, sh)  # fmt: skip
            if all(_apart(cand, other) for other in shapes):
                shapes.append(cand)
                break
    for shape in shapes:
        _fill(pixels, size, shape)
    return Scene(size, bytes(pixels), tuple(shapes))


def _apart(a: Shape, b: Shape, gap: int = 1) -> bool:
    return (a.x + a.width + gap <= b.x or b.x + b.width + gap <= a.x
            or a.y + a.height + gap <= b.y or b.y + b.height + gap <= a.y)  # fmt: skip


def _fill(pixels: bytearray, size: int, shape: Shape) -> None:
    name = CATEGORIES[shape.category]
    for row in range(shape.y, shape.y + shape.height):
        start = row * size + shape.x
        if name == "checkered":
            line = bytes(
                230 if ((col // 2) + (row // 2)) % 2 else 25
                for col in range(shape.x, shape.x + shape.width)
            )
        else:
            line = bytes([230 if name == "light" else 25]) * shape.width
        pixels[start : start + shape.width] = line


def largest(boxes: Sequence[tuple[int, Box]]) -> tuple[int, Box]:
    """The ``(category, box)`` with the largest area (the first of equals)."""
    return max(boxes, key=lambda cb: cb[1][2] * cb[1][3])


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, width, height)`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
