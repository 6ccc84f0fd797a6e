"""Semantic data types: what an action consumes (``input_type``) and produces
(``output_type``), so that pipelines can check that one action can feed the next.

A type is a class; a subclass is a more specific kind of its parent (``YOLODataset`` is
a ``Dataset``). An output can feed an input when the output's type is the input's type or
a subclass of it: a step that wants any ``Dataset`` accepts a ``YOLODataset``, not the
other way round.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "COCODataset",
    "DataType",
    "Dataset",
    "ImageDataset",
    "ModelWeights",
    "NativeDataset",
    "ONNXModel",
    "TextCorpus",
    "TorchModel",
    "VOCDataset",
    "YOLODataset",
    "is_compatible",
]


class DataType:
    """Base of all semantic data types. Subclass it to declare your own."""

    name: ClassVar[str] = "data"
    format: ClassVar[str | None] = None
    description: ClassVar[str] = "Any data"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    @classmethod
    def is_compatible_with(cls, required: type[DataType]) -> bool:
        """True if a value of this type can be given where ``required`` is expected."""
        return issubclass(cls, required)


class Dataset(DataType):
    """A dataset of any format."""

    description = "A dataset"


class ImageDataset(Dataset):
    """Images, with or without labels."""

    description = "Images"


class YOLODataset(ImageDataset):
    """Images with YOLO-format label files and a ``data.yaml``."""

    format = "yolo"
    description = "YOLO-format dataset"


class COCODataset(ImageDataset):
    """Images with COCO-format JSON annotations."""

    format = "coco"
    description = "COCO-format dataset"


class VOCDataset(ImageDataset):
    """Images with Pascal VOC XML annotations."""

    format = "voc"
    description = "Pascal VOC dataset"


class NativeDataset(ImageDataset):
    """Images with Hoist's lossless JSON Lines annotations (``hoist.datasets``' native)."""

    format = "native"
    description = "Hoist-native dataset"


class TextCorpus(Dataset):
    """A collection of text documents."""

    format = "text"
    description = "Text documents"


class ModelWeights(DataType):
    """Trained model weights of any framework."""

    description = "Model weights"


class TorchModel(ModelWeights):
    """PyTorch weights (``.pt``)."""

    format = "pt"
    description = "PyTorch weights"


class ONNXModel(ModelWeights):
    """An ONNX model (``.onnx``)."""

    format = "onnx"
    description = "ONNX model"


def is_compatible(produced: type[DataType] | None, required: type[DataType] | None) -> bool:
    """Whether an action producing ``produced`` can feed one requiring ``required``.

    Undeclared types (``None``) are compatible with anything: there is nothing to check.
    """
    if produced is None or required is None:
        return True
    return produced.is_compatible_with(required)
