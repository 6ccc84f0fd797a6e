"""Validate records against simple rules: required fields and numeric ranges."""

from typing import Any

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory

SAMPLE = [
    {"id": 1, "width": 640, "height": 480},
    {"id": 2, "width": -5, "height": 480},
    {"id": 3, "height": 720},
]


class ValidateParams(BaseModel):
    records: list[dict[str, Any]] = Field(SAMPLE, description="Records to check")
    required: list[str] = Field(["id", "width", "height"], description="Fields that must exist")
    minimum: float = Field(0, description="Smallest allowed number")


class ValidateResult(BaseModel):
    records: int
    errors: int
    details: list[str]


class ValidateAction(BaseAction[ValidateParams]):
    """Report every rule a record breaks."""

    action_name = "validate"
    category = PluginCategory.DATA_VALIDATION
    result_model = ValidateResult

    def execute(self) -> ValidateResult:
        details = []
        for i, record in enumerate(self.params.records, start=1):
            for field in self.params.required:
                if field not in record:
                    details.append(f"record {record.get('id', i)}: '{field}' is missing")
            for field, value in record.items():
                if isinstance(value, int | float) and value < self.params.minimum:
                    details.append(
                        f"record {record.get('id', i)}: '{field}' is below {self.params.minimum:g}"
                    )
            self.set_progress(i, len(self.params.records))
        self.set_metrics({"errors": len(details)})
        return ValidateResult(
            records=len(self.params.records), errors=len(details), details=details
        )
