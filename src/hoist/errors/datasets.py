"""Errors of ``hoist.datasets``: a dataset that breaks a rule of its format, and a
conversion that cannot be made as asked."""

from __future__ import annotations

from hoist.errors.base import UserInputError

__all__ = ["DatasetConversionError", "DatasetValidationError"]


class DatasetValidationError(UserInputError):
    """A dataset file breaks a rule of its format.

    Attributes:
        path: the file (label txt, annotation JSON, XML, ``data.yaml``).
        line: 1-based line in a text file, when the problem is on one.
        json_path: where in a JSON document (``annotations[3].bbox``), when it is one.
        rule: the rule broken, in words (``box outside its image``).
    """

    def __init__(
        self, rule: str, *, path: str, line: int | None = None, json_path: str | None = None
    ) -> None:
        self.rule, self.path, self.line, self.json_path = rule, path, line, json_path
        where = path if line is None else f"{path}:{line}"
        if json_path:
            where += f" at {json_path}"
        super().__init__(f"{where}: {rule}")


class DatasetConversionError(UserInputError):
    """A conversion was refused: an unknown format, or one that would lose annotations
    (segmentation or keypoints into a format without them) without ``allow_lossy``.

    Attributes:
        reason: why, in words.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
