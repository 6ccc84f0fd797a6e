"""Check finished annotations: missing labels and low-confidence ones."""

from typing import Any

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory

SAMPLE = [
    {"id": 1, "label": "cat", "confidence": 0.95},
    {"id": 2, "label": "", "confidence": 0.80},
    {"id": 3, "label": "dog", "confidence": 0.42},
]


class PostAnnotateParams(BaseModel):
    annotations: list[dict[str, Any]] = Field(SAMPLE, description="Annotations to check")
    min_confidence: float = Field(0.5, ge=0, le=1, description="Below this, flag for review")


class PostAnnotateResult(BaseModel):
    checked: int
    missing_label: list[int]
    low_confidence: list[int]


class PostAnnotateAction(BaseAction[PostAnnotateParams]):
    """Flag annotations that need another look."""

    action_name = "post_annotate"
    category = PluginCategory.POST_ANNOTATION
    result_model = PostAnnotateResult

    def execute(self) -> PostAnnotateResult:
        missing, low = [], []
        for i, item in enumerate(self.params.annotations, start=1):
            if not item.get("label"):
                missing.append(item.get("id", i))
            if float(item.get("confidence", 1.0)) < self.params.min_confidence:
                low.append(item.get("id", i))
            self.set_progress(i, len(self.params.annotations))
        self.set_metrics({"missing_label": len(missing), "low_confidence": len(low)})
        return PostAnnotateResult(
            checked=len(self.params.annotations), missing_label=missing, low_confidence=low
        )
