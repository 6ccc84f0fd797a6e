"""``PipelineContext``: the working folder the actions of one pipeline run share.

It lives beside the action's context (``ctx.pipeline``), below the executors, so that a
worker running one node of a pipeline elsewhere rebuilds it from the node run's record
(:meth:`PipelineContext.as_meta` / :meth:`PipelineContext.from_meta`), never by importing
the pipelines package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PipelineContext"]

_STANDARD = ("datasets", "models", "artifacts", "logs")


@dataclass(frozen=True)
class PipelineContext:
    """Handed to every action of a pipeline run as ``ctx.pipeline``.

    A resumed run keeps the folder of the run it resumes, so files written by actions that
    already finished are still there.

    Attributes:
        run_id: the pipeline run.
        working_dir: the shared folder (with ``datasets/``, ``models/``, ``artifacts/``,
            ``logs/``).
    """

    run_id: str
    working_dir: Path

    def __post_init__(self) -> None:
        for name in _STANDARD:
            (self.working_dir / name).mkdir(parents=True, exist_ok=True)

    def as_meta(self, node: str | None = None) -> dict[str, Any]:
        """What a node run's record carries so that its worker can rebuild this context
        (see :meth:`from_meta`)."""
        return {"node": node, "pipeline_run_id": self.run_id,
                "pipeline_dir": str(self.working_dir)}  # fmt: skip

    @classmethod
    def from_meta(
        cls, meta: Mapping[str, Any], parent_id: str | None = None
    ) -> PipelineContext | None:
        """The context a node run's record describes (``None`` outside a pipeline)."""
        if not meta.get("pipeline_dir"):
            return None
        return cls(meta.get("pipeline_run_id") or parent_id or "", Path(meta["pipeline_dir"]))

    @property
    def datasets_dir(self) -> Path:
        """Where actions put datasets."""
        return self.working_dir / "datasets"

    @property
    def models_dir(self) -> Path:
        """Where actions put models and weights."""
        return self.working_dir / "models"

    @property
    def artifacts_dir(self) -> Path:
        """Where actions put other outputs."""
        return self.working_dir / "artifacts"

    def path(self, *parts: str) -> Path:
        """A path inside the working folder (parent folders are created).

        Raises:
            ValueError: the path would leave the working folder.
        """
        target = self.working_dir.joinpath(*parts).resolve()
        if not target.is_relative_to(self.working_dir.resolve()):
            raise ValueError(f"{'/'.join(parts)!r} is outside the pipeline's working folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target
