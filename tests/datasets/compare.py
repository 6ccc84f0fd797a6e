"""Comparing two datasets up to a tolerance (each format's documented precision)."""

from __future__ import annotations

import math

from hoist.datasets import Dataset

__all__ = ["YOLO_TOL", "assert_same"]

YOLO_TOL = 1e-6
"""YOLO writes normalised values with 6 decimals: each coordinate within 0.5e-6 of the
image size; a box corner (centre minus half the width) within 1e-6."""


def _close(a: float, b: float, scale: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=rel * scale + 1e-9)


def assert_same(a: Dataset, b: Dataset, rel: float = 0.0) -> None:
    """Same categories, images (by split and file) and annotations in order, coordinates
    within ``rel`` times the image's size."""
    assert a.categories == b.categories
    left = {(i.split, i.file): i for i in a.images}
    right = {(i.split, i.file): i for i in b.images}
    assert sorted(left) == sorted(right)
    for key, x in left.items():
        y = right[key]
        assert (x.width, x.height) == (y.width, y.height), key
        assert len(x.annotations) == len(y.annotations), key
        for p, q in zip(x.annotations, y.annotations, strict=True):
            assert p.category == q.category, key
            dims = (x.width, x.height, x.width, x.height)
            for u, v, d in zip(p.bbox, q.bbox, dims, strict=True):
                assert _close(u, v, d, rel), (key, p.bbox, q.bbox)
            assert (p.segmentation is None) == (q.segmentation is None), key
            for pa, pb in zip(p.segmentation or [], q.segmentation or [], strict=True):
                for k, (u, v) in enumerate(zip(pa, pb, strict=True)):
                    assert _close(u, v, x.width if k % 2 == 0 else x.height, rel), key
            assert (p.keypoints is None) == (q.keypoints is None), key
            for k, (u, v) in enumerate(zip(p.keypoints or [], q.keypoints or [], strict=True)):
                if k % 3 == 2:
                    assert u == v, key
                else:
                    assert _close(u, v, x.width if k % 3 == 0 else x.height, rel), key
            assert p.attributes == q.attributes, key
