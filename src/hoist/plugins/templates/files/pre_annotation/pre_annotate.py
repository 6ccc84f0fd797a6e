"""Prepare items for annotation: trim, normalise, drop duplicates and blanks."""

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory


class PreAnnotateParams(BaseModel):
    items: list[str] = Field(["  Cat ", "dog", "cat", "", "Bird"], description="Raw items")
    lowercase: bool = Field(True, description="Normalise case")


class PreAnnotateResult(BaseModel):
    items: list[str]
    removed_blank: int
    removed_duplicates: int


class PreAnnotateAction(BaseAction[PreAnnotateParams]):
    """Clean a batch of items before annotation."""

    action_name = "pre_annotate"
    category = PluginCategory.PRE_ANNOTATION
    result_model = PreAnnotateResult

    def execute(self) -> PreAnnotateResult:
        seen: list[str] = []
        blank = dupes = 0
        for i, raw in enumerate(self.params.items, start=1):
            item = raw.strip().lower() if self.params.lowercase else raw.strip()
            if not item:
                blank += 1
            elif item in seen:
                dupes += 1
            else:
                seen.append(item)
            self.set_progress(i, len(self.params.items))
        return PreAnnotateResult(items=seen, removed_blank=blank, removed_duplicates=dupes)
