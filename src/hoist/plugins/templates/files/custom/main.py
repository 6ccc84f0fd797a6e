"""A starting point: process a list of items with progress, metrics and messages."""

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory


class MainParams(BaseModel):
    items: list[str] = Field(["first", "second", "third"], min_length=1, description="Items")
    prefix: str = Field("processed", description="Put before each item")


class MainResult(BaseModel):
    outputs: list[str]


class MainAction(BaseAction[MainParams]):
    """Process items one by one."""

    action_name = "main"
    category = PluginCategory.CUSTOM
    result_model = MainResult

    def execute(self) -> MainResult:
        outputs = []
        for i, item in enumerate(self.params.items, start=1):
            outputs.append(f"{self.params.prefix}: {item}")
            self.set_progress(i, len(self.params.items))
        self.set_metrics({"items": len(outputs)})
        self.log_message(f"processed {len(outputs)} items", "success")
        return MainResult(outputs=outputs)
