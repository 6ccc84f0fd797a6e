"""Label texts automatically with keyword rules."""

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory

RULES = {"positive": ["good", "great", "love"], "negative": ["bad", "awful", "hate"]}


class AutoLabelParams(BaseModel):
    texts: list[str] = Field(["I love it", "This is awful", "It arrived"], min_length=1)
    rules: dict[str, list[str]] = Field(RULES, description="label -> keywords")
    default_label: str = Field("neutral", description="When no rule matches")


class AutoLabelResult(BaseModel):
    labels: list[str]
    counts: dict[str, int]


class AutoLabelAction(BaseAction[AutoLabelParams]):
    """Suggest a label for each text."""

    action_name = "auto_label"
    category = PluginCategory.SMART_TOOL
    result_model = AutoLabelResult

    def execute(self) -> AutoLabelResult:
        labels = []
        for i, text in enumerate(self.params.texts, start=1):
            words = text.lower().split()
            found = next(
                (
                    label
                    for label, keys in self.params.rules.items()
                    if any(k in words for k in keys)
                ),
                self.params.default_label,
            )
            labels.append(found)
            self.set_progress(i, len(self.params.texts))
        counts = {label: labels.count(label) for label in sorted(set(labels))}
        self.set_metrics(counts)
        return AutoLabelResult(labels=labels, counts=counts)
