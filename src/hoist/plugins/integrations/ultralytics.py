"""Ultralytics (YOLO) autolog, as the plugin seed names it: ``self.autolog("ultralytics")``.

Written against Ultralytics' documented callback API (``ultralytics.utils.callbacks.base``):
a trainer copies ``default_callbacks`` when a ``YOLO(...)`` model is built, and calls each
event's functions with the trainer. While attached, this integration adds its functions to
``default_callbacks`` (so models built afterwards in the action's thread report with no
manual calls) and, given ``model=``, to that model with ``model.add_callback(event, fn)``.

* ``on_fit_epoch_end`` (after validation): metrics ``trainer.label_loss_items(trainer.tloss,
  prefix="train")`` (the losses), ``trainer.metrics`` (mAP, precision, recall, val losses),
  ``trainer.lr`` and ``epoch``; progress ``trainer.epoch + 1`` of ``trainer.epochs``
  (category ``"train"``);
* ``on_train_end``: ``trainer.best`` and ``trainer.last`` weights as run artifacts
  (``log_checkpoints=False`` turns this off).

Not exercised against a real Ultralytics here (it cannot be installed beside this
machine's PyTorch); its missing-package error is tested.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from hoist.errors import UserInputError
from hoist.plugins.integrations.base import (
    AutologHandle,
    Integration,
    ThreadScopedHooks,
    numeric_metrics,
)

__all__ = ["UltralyticsIntegration", "UltralyticsReporter"]

EVENTS = ("on_fit_epoch_end", "on_train_end")


class UltralyticsReporter:
    """Turns an Ultralytics trainer's callbacks into a Hoist run's events."""

    def __init__(self, ctx: Any, category: str = "train", log_checkpoints: bool = True) -> None:
        self.ctx = ctx
        self.category = category
        self.log_checkpoints = log_checkpoints

    def on_fit_epoch_end(self, trainer: Any) -> None:
        """Per epoch, after validation: losses, metrics, learning rates and progress."""
        values: dict[str, Any] = {}
        label_loss_items = getattr(trainer, "label_loss_items", None)
        tloss = getattr(trainer, "tloss", None)
        if callable(label_loss_items) and tloss is not None:
            values.update(label_loss_items(tloss, prefix="train") or {})
        values.update(getattr(trainer, "metrics", None) or {})
        values.update(getattr(trainer, "lr", None) or {})
        done = int(trainer.epoch) + 1
        metrics = numeric_metrics(values)
        metrics["epoch"] = float(done)
        self.ctx.set_metrics(metrics, self.category)
        self.ctx.set_progress(done, max(int(getattr(trainer, "epochs", done)), done), self.category)

    def on_train_end(self, trainer: Any) -> None:
        """The best and last weights become run artifacts."""
        if not self.log_checkpoints:
            return
        for attr in ("best", "last"):
            path = getattr(trainer, attr, None)
            if path and Path(path).is_file():
                self.ctx.add_artifact(path)


def _dispatch(event: str) -> Any:
    def call(trainer: Any) -> None:
        for reporter in _HOOKS.current():
            getattr(reporter, event)(trainer)

    call.__name__ = call.__qualname__ = f"hoist_autolog_{event}"
    return call


_DISPATCHERS = {event: _dispatch(event) for event in EVENTS}


def _install_default_callbacks() -> Any:
    base = importlib.import_module("ultralytics.utils.callbacks.base")
    defaults: dict[str, list[Any]] = base.default_callbacks
    for event, function in _DISPATCHERS.items():
        defaults.setdefault(event, []).append(function)

    def restore() -> None:
        for event, function in _DISPATCHERS.items():
            if function in defaults.get(event, []):
                defaults[event].remove(function)

    return restore


_HOOKS = ThreadScopedHooks(_install_default_callbacks)


class UltralyticsIntegration(Integration):
    """Autolog for Ultralytics YOLO trainers."""

    name = "ultralytics"
    aliases = ("yolo",)
    module = "ultralytics"
    install = "ultralytics"

    def hook(
        self,
        ctx: Any,
        *,
        model: Any = None,
        category: str = "train",
        log_checkpoints: bool = True,
        **unknown: Any,
    ) -> AutologHandle:
        """Report through the default callbacks and, given ``model``, its own callbacks."""
        if unknown:
            raise UserInputError(
                f"autolog('ultralytics') got unknown options {sorted(unknown)}; "
                "known: model, category, log_checkpoints"
            )
        reporter = UltralyticsReporter(ctx, category=category, log_checkpoints=log_checkpoints)
        if model is None:
            return AutologHandle(self.name, _HOOKS.add(reporter), reporter)
        added = [(event, getattr(reporter, event)) for event in EVENTS]
        for event, function in added:
            model.add_callback(event, function)

        def detach() -> None:
            callbacks = getattr(model, "callbacks", {})
            for event, function in added:
                if function in callbacks.get(event, []):
                    callbacks[event].remove(function)

        return AutologHandle(self.name, detach, reporter)
