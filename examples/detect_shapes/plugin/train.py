"""``train``: fit the shape detector with PyTorch Lightning.

Lightning runs the epochs; ``self.autolog("lightning")`` turns them into the run's
progress (category ``train``) and metrics with no manual calls. The base class keeps
what a training run needs around that: each epoch's Lightning checkpoint saved as a run
artifact, the best one by ``val_iou``, resume from the last one (Lightning restores the
model, optimizer and epoch from it), and the final weights with their SHA-256.
"""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from hoist.datasets import DatasetRef
from hoist.errors import UserInputError
from hoist.plugins.actions import BaseTrainAction, TrainParams
from hoist.plugins.types import COCODataset
from plugin.data import Sample, samples


class ShapesTrainParams(TrainParams):
    epochs: int = Field(12, ge=1, le=10_000, description="Total epochs to train")
    batch_size: int = Field(32, ge=1, le=4096, description="Images per training step")
    lr: float = Field(3e-3, gt=0, le=1, description="Adam learning rate")
    seed: int = Field(0, description="Seed of the initial weights and the shuffling")
    threads: int | None = Field(
        1, ge=1, le=256, description="CPU threads torch trains with (None: torch's default)"
    )


class TrainAction(BaseTrainAction[ShapesTrainParams]):
    """Train a tiny CNN to find the largest shape (box and class), with Lightning."""

    action_name = "train"
    input_type = COCODataset
    best_metric: ClassVar[str | None] = "val_iou"
    best_mode: ClassVar[Literal["min", "max"]] = "max"
    weights_filename: ClassVar[str] = "weights.pt"

    def setup_model(self, state: Any) -> None:
        """Read the dataset and build the model (from the resumed checkpoint, if any)."""
        import torch

        from plugin.model import ShapeModule, ShapeNet

        ref = self.dataset_ref()
        self.categories, self.train_set = samples(ref, "train")
        _, self.val_set = samples(ref, "val")
        if not self.train_set or not self.val_set:
            raise UserInputError(
                f"dataset: {ref.path} needs images with boxes in 'train' and 'val'"
            )
        torch.manual_seed(self.params.seed)
        net = ShapeNet(self.train_set[0].width, len(self.categories))
        self.module = ShapeModule(net, lr=self.params.lr)
        if isinstance(state, bytes):  # a Lightning checkpoint
            saved = torch.load(io.BytesIO(state), map_location="cpu", weights_only=False)
            self.module.load_state_dict(saved["state_dict"])

    def dataset_ref(self) -> DatasetRef:
        """The COCO dataset to train on: the ``dataset`` param (a ref from the pipeline's
        ``convert`` node, or a folder)."""
        context = self.context
        ref = getattr(context, "dataset", None)
        if isinstance(ref, DatasetRef):
            return ref.expect("coco")
        if context.dataset_path is None:
            raise UserInputError("dataset: give the COCO dataset to train on (see `convert`)")
        return DatasetRef.at(context.dataset_path).expect("coco")

    def train(self) -> None:
        """Fit with Lightning: autolog reports each epoch, the base checkpoints it."""
        import lightning.pytorch as pl

        from plugin.model import torch_threads

        context, params = self.context, self.params
        if context.start_epoch > params.epochs:
            return  # resumed after the last epoch: nothing left to train
        self.autolog("lightning")
        with warnings.catch_warnings(), torch_threads(params.threads):
            # Tiny in-memory data: no loader workers needed, few batches per epoch.
            warnings.filterwarnings("ignore", ".*does not have many workers.*")
            warnings.filterwarnings("ignore", ".*LeafSpec.*", FutureWarning)
            trainer = pl.Trainer(
                max_epochs=params.epochs, accelerator="cpu", devices=1, logger=False,
                enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=1,
                default_root_dir=str(context.output_dir / "lightning"),
                callbacks=[_save_checkpoints_callback()(self)],
            )  # fmt: skip
            trainer.fit(self.module, self._loader(self.train_set, shuffle=True),
                        self._loader(self.val_set, shuffle=False),
                        ckpt_path=context.resumed_from)  # fmt: skip

    def _loader(self, found: list[Sample], shuffle: bool) -> Any:
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        from plugin.model import images_tensor, targets

        boxes, labels = targets(found)
        data = TensorDataset(images_tensor([s.path for s in found]), boxes, labels)
        generator = torch.Generator().manual_seed(self.params.seed)
        return DataLoader(data, batch_size=self.params.batch_size, shuffle=shuffle,
                          generator=generator if shuffle else None)  # fmt: skip

    def save_weights(self, path: Path) -> Path:
        """The net's weights, image size and category names (``weights.pt``)."""
        from plugin.model import save_net

        path.parent.mkdir(parents=True, exist_ok=True)
        return save_net(self.module.net, self.categories, path)


@functools.cache
def _save_checkpoints_callback() -> type:
    """A Lightning callback handing each epoch to the base: its checkpoint (Lightning's
    own, as bytes) and metrics, for resume and best-model selection."""
    from lightning.pytorch import Callback

    from hoist.plugins.integrations.base import numeric_metrics

    class SaveCheckpoints(Callback):
        def __init__(self, action: TrainAction) -> None:
            self.action = action

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            action, context = self.action, self.action.context
            epoch, total = trainer.current_epoch + 1, int(action.params.epochs)
            metrics = numeric_metrics(trainer.callback_metrics)
            context.history.append({"epoch": float(epoch), **metrics})
            if epoch % action.params.checkpoint_every == 0 or epoch >= total:
                scratch = context.output_dir / ".epoch.ckpt"
                trainer.save_checkpoint(scratch, weights_only=False)
                action.save_checkpoint(scratch.read_bytes(), epoch, metrics)
                scratch.unlink()
            first = context.start_epoch
            context.set_progress(epoch - first + 1, max(total - first + 1, 1))

    return SaveCheckpoints
