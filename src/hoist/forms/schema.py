"""A declared form as a pydantic model: one source for its JSON Schema and validation.

Each input becomes one field, aliased to the input's name (so any name works, even
``first-name`` or ``__x``). File inputs and action buttons stay out of the model: their
values are not JSON; they are added to the schema by hand and checked by ``validate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo

from hoist.forms.elements import (
    Action,
    Checkbox,
    Element,
    Input,
    InputArea,
    InputDate,
    InputDateTime,
    InputFiles,
    InputJSON,
    InputList,
    InputNumber,
    InputPassword,
    InputPath,
    InputText,
    InputTime,
    Select,
    walk_inputs,
)
from hoist.forms.errors import FormDefinitionError

__all__ = ["declared_model", "declared_schema"]

_CONFIG = ConfigDict(
    # The seed posts {"tasks": 100} to a text input: numbers are accepted as text.
    coerce_numbers_to_str=True,
    # HTML patterns are JavaScript regexes; Python's engine is the nearer match.
    regex_engine="python-re",
    extra="ignore",
)
_ITEM_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float}


def declared_model(elements: Sequence[Element]) -> type[BaseModel]:
    """Build the pydantic model that validates a declared form's inputs.

    Raises:
        FormDefinitionError: a default (``value``) or bound does not fit its input.
    """
    fields: dict[str, Any] = {}
    for index, element in enumerate(walk_inputs(elements)):
        if not isinstance(element, InputFiles):
            fields[f"f{index}"] = _field(element)
    model: type[BaseModel] = create_model("Inputs", __config__=_CONFIG, **fields)
    return model


def declared_schema(elements: Sequence[Element], model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a declared form: the model's, plus files and action buttons."""
    schema = model.model_json_schema(by_alias=True)
    props: dict[str, Any] = schema.setdefault("properties", {})
    required: list[str] = schema.setdefault("required", [])
    for element in walk_inputs(elements):
        if isinstance(element, InputFiles):
            files: dict[str, Any] = {"type": "string", "format": "binary"}
            prop: dict[str, Any] = {"type": "array", "items": files, "title": element.title}
            if not element.multiple:
                prop["maxItems"] = 1
            if element.description:
                prop["description"] = element.description
            props[element.name] = prop
            if element.required:
                required.append(element.name)
    actions: dict[str, list[str]] = {}
    for button in elements:
        if isinstance(button, Action):
            actions.setdefault(button.name, []).append(button.value)
    for name, values in actions.items():
        props[name] = {"type": "string", "enum": values, "title": "Action"}
    if not required:
        del schema["required"]
    return schema


def _field(element: Input) -> tuple[Any, FieldInfo]:
    info: dict[str, Any] = {
        "alias": element.name,
        "title": element.title,
        "description": element.description,
    }
    if isinstance(element, Checkbox):
        # "required" means "must be checked"; validate checks that after the model.
        return bool, Field(bool(element.value), **info)
    base, extra = _base_type(element)
    info["json_schema_extra"] = extra or None
    if element.required:
        return base, Field(..., **info)
    initial = element.selected if isinstance(element, Select) else element.value
    return base | None, Field(_checked(element, base, initial), **info)


def _base_type(element: Input) -> tuple[Any, dict[str, Any]]:
    """The field's type (constraints in ``Annotated``) and extra JSON Schema keys."""
    if isinstance(element, InputText):
        pattern = f"^(?:{element.pattern})$" if element.pattern else None
        constraints = Field(
            min_length=element.min_length, max_length=element.max_length, pattern=pattern
        )
        extra: dict[str, Any] = {}
        if isinstance(element, InputPassword):
            extra = {"format": "password", "writeOnly": True}
        elif isinstance(element, InputPath):
            extra = {"format": "path"}
        return Annotated[str, constraints], extra
    if isinstance(element, InputArea):
        limits = Field(min_length=element.min_length, max_length=element.max_length)
        return Annotated[str, limits], {"format": "textarea"}
    if isinstance(element, InputList):
        items = _ITEM_TYPES[element.item_kind]
        limits = Field(min_length=element.min_items, max_length=element.max_items)
        return Annotated[list[items], limits], {}  # type: ignore[valid-type]
    if isinstance(element, InputNumber):
        bounds = Field(ge=element.min_value, le=element.max_value)
        if element.integer:
            return Annotated[int, bounds], {}
        # "4" is 4, not 4.0: what was typed stays an int where it is a whole number.
        return Annotated[float, bounds, AfterValidator(_whole_as_int)], {}
    if isinstance(element, InputDate | InputTime | InputDateTime):
        return _temporal(element)
    if isinstance(element, Select):
        if not element.option:
            raise FormDefinitionError("a select needs at least one option", element=element.name)
        choices = tuple(opt.typed for opt in element.option)
        return Literal.__getitem__(choices), {}
    if isinstance(element, InputJSON):
        return Any, {}
    raise FormDefinitionError(
        f"{type(element).__name__} cannot be validated", element=element.name
    )  # pragma: no cover - every Input subclass is handled above


def _temporal(element: InputDate | InputTime | InputDateTime) -> tuple[Any, dict[str, Any]]:
    kind: type
    low: Any
    high: Any
    if isinstance(element, InputDate):
        kind, low, high = date, element.min_date, element.max_date
    elif isinstance(element, InputTime):
        kind, low, high = time, element.min_time, element.max_time
    else:
        kind, low, high = datetime, element.min_datetime, element.max_datetime
    bounds = Field(ge=_checked(element, kind, low), le=_checked(element, kind, high))
    return Annotated[kind, bounds], {}


def _checked(element: Input, kind: Any, value: Any) -> Any:
    """``value`` validated as ``kind`` (``None`` stays ``None``): bad defaults fail early."""
    if value is None:
        return None
    try:
        return TypeAdapter(kind, config=_CONFIG).validate_python(value)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise FormDefinitionError(
            f"{value!r} does not fit: {problem}", element=element.name
        ) from exc


def _whole_as_int(value: float) -> float:
    return int(value) if value.is_integer() else value
