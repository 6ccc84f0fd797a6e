"""The detector: a tiny CNN predicting one box (centre, size; normalised) and a class
per image, its Lightning module, and loading images and weights as tensors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.nn import functional as F

from plugin.data import Sample
from plugin.png import read_gray_png
from plugin.shapes import Box, iou

__all__ = [
    "ShapeModule", "ShapeNet", "boxes_to_pixels", "images_tensor", "load_net", "save_net",
    "torch_threads",
]  # fmt: skip


class ShapeNet(nn.Module):
    """Three strided convolutions and two heads: ``(boxes, logits)`` where a box is
    ``(cx, cy, w, h)`` in 0..1 of the image side."""

    def __init__(self, image_size: int = 64, classes: int = 3) -> None:
        super().__init__()
        self.image_size, self.classes = image_size, classes
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        )  # fmt: skip
        side = (image_size + 7) // 8
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(32 * side * side, 64), nn.ReLU())
        self.box_head = nn.Linear(64, 4)
        self.class_head = nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(self.features(x))
        return torch.sigmoid(self.box_head(h)), self.class_head(h)


def images_tensor(paths: Sequence[str]) -> torch.Tensor:
    """The images at ``paths`` as a ``(N, 1, H, W)`` float tensor in -1..1."""
    out = []
    for path in paths:
        width, height, pixels = read_gray_png(path)
        plane = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).view(1, height, width)
        out.append(plane.float() / 127.5 - 1.0)
    return torch.stack(out)


def targets(found: Sequence[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised ``(cx, cy, w, h)`` boxes and class indices of ``found``."""
    boxes = [[(s.box[0] + s.box[2] / 2) / s.width, (s.box[1] + s.box[3] / 2) / s.height,
              s.box[2] / s.width, s.box[3] / s.height] for s in found]  # fmt: skip
    return torch.tensor(boxes), torch.tensor([s.category for s in found])


def boxes_to_pixels(boxes: torch.Tensor, width: int, height: int) -> list[Box]:
    """Normalised ``(cx, cy, w, h)`` rows as pixel ``(x, y, width, height)`` boxes."""
    out = []
    for cx, cy, w, h in boxes.tolist():
        out.append(((cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height))
    return out


def mean_iou(pred: torch.Tensor, true: torch.Tensor) -> float:
    """Mean IoU of normalised ``(cx, cy, w, h)`` rows."""
    a, b = boxes_to_pixels(pred, 1, 1), boxes_to_pixels(true, 1, 1)
    return sum(iou(p, t) for p, t in zip(a, b, strict=True)) / max(len(a), 1)


class ShapeModule(pl.LightningModule):
    """Lightning training of a :class:`ShapeNet`: smooth-L1 box loss plus cross-entropy;
    logs ``train_loss``, ``val_loss``, ``val_iou`` and ``val_accuracy`` per epoch."""

    def __init__(self, net: ShapeNet, lr: float = 3e-3) -> None:
        super().__init__()
        self.net, self.lr = net, lr

    def _losses(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, boxes, labels = batch
        pred_boxes, logits = self.net(x)
        loss = 5 * F.smooth_l1_loss(pred_boxes, boxes, beta=0.05) + F.cross_entropy(logits, labels)
        return loss, pred_boxes, logits

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        loss = self._losses(batch)[0]
        self.log("train_loss", loss, on_epoch=True, on_step=False, batch_size=len(batch[0]))
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        loss, pred_boxes, logits = self._losses(batch)
        n = len(batch[0])
        self.log("val_loss", loss, batch_size=n)
        self.log("val_iou", mean_iou(pred_boxes, batch[1]), batch_size=n)
        accuracy = (logits.argmax(1) == batch[2]).float().mean()
        self.log("val_accuracy", accuracy, batch_size=n)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def save_net(net: ShapeNet, categories: Sequence[str], path: Path) -> Path:
    """Write the weights with what is needed to rebuild the net."""
    torch.save({"state_dict": net.state_dict(), "image_size": net.image_size,
                "categories": list(categories)}, path)  # fmt: skip
    return path


def load_net(path: str | Path) -> tuple[ShapeNet, list[str]]:
    """The net saved by :func:`save_net` (in eval mode) and its category names."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net = ShapeNet(int(saved["image_size"]), len(saved["categories"]))
    net.load_state_dict(saved["state_dict"])
    return net.eval(), [str(c) for c in saved["categories"]]


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op CPU threads (``None``: leave torch's
    setting), restored afterwards. A model this small trains fastest on one thread, and
    far faster than on several when other processes share the cores."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
