"""Logistic regression in pure Python: enough math to make training real, and no
dependency to install."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

Point = tuple[float, float]


def make_dataset(samples: int, seed: int, noise: float) -> list[tuple[Point, int]]:
    """Two Gaussian blobs, labels 0 and 1, deterministic for a seed."""
    rng = random.Random(seed)
    data = []
    for i in range(samples):
        label = i % 2
        cx, cy = (1.0, 1.0) if label else (-1.0, -1.0)
        data.append(((rng.gauss(cx, noise), rng.gauss(cy, noise)), label))
    rng.shuffle(data)
    return data


def save_dataset(path: Path, data: list[tuple[Point, int]]) -> None:
    """Write a dataset as JSON."""
    path.write_text(json.dumps([[x, y, label] for (x, y), label in data]))


def load_dataset(path: Path) -> list[tuple[Point, int]]:
    """Read a dataset written by :func:`save_dataset`."""
    return [((x, y), int(label)) for x, y, label in json.loads(path.read_text())]


def predict(weights: list[float], point: Point) -> float:
    """Probability of class 1."""
    z = weights[0] + weights[1] * point[0] + weights[2] * point[1]
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def epoch(weights: list[float], data: list[tuple[Point, int]], lr: float) -> float:
    """One pass of batch gradient descent; returns the mean log loss before the step."""
    grads = [0.0, 0.0, 0.0]
    loss = 0.0
    for (x, y), label in data:
        p = predict(weights, (x, y))
        loss -= math.log(p if label else 1.0 - p) if 0.0 < p < 1.0 else 0.0
        err = p - label
        grads[0] += err
        grads[1] += err * x
        grads[2] += err * y
    n = len(data)
    for i in range(3):
        weights[i] -= lr * grads[i] / n
    return loss / n


def accuracy(weights: list[float], data: list[tuple[Point, int]]) -> float:
    """Share of points classified right."""
    right = sum((predict(weights, p) >= 0.5) == bool(label) for p, label in data)
    return right / len(data) if data else 0.0
