"""Form elements from a JSON Schema that arrived as data (``elements_from_schema``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from hoist import forms as F
from hoist.forms.generate import elements_for, elements_from_schema

from .conftest import Params

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "OrderParams",
    "required": ["item", "count"],
    "properties": {
        "item": {"type": "string", "title": "Item", "minLength": 2, "description": "What"},
        "count": {"type": "integer", "title": "Count", "minimum": 1, "maximum": 10},
        "express": {"type": "boolean", "default": False},
        "size": {"enum": ["s", "m", "l"], "default": "m"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "address": {"$ref": "#/$defs/Address"},
    },
    "$defs": {
        "Address": {
            "type": "object",
            "required": ["city"],
            "properties": {"city": {"type": "string"}, "zip": {"type": "string", "default": ""}},
        }
    },
}


class Sized(BaseModel):
    n: int = Field(ge=1, le=5, alias="N")


def test_a_params_models_schema_gives_what_elements_for_gives() -> None:
    for model in (Params, Sized):
        schema = json.loads(json.dumps(model.model_json_schema(by_alias=True)))  # as data
        assert elements_from_schema(schema) == elements_for(model)


def test_schema_properties_become_typed_inputs() -> None:
    fields = {f.name: f for f in F.Model(*elements_from_schema(ORDER_SCHEMA)).fields()}
    assert {name: f.kind for name, f in fields.items()} == {
        "item": "text",
        "count": "integer",
        "express": "checkbox",
        "size": "select",
        "note": "text",
        "address.city": "text",
        "address.zip": "text",
    }
    assert fields["item"].required and fields["item"].description == "What"
    assert fields["count"].required and not fields["express"].required
    assert fields["note"].nullable and not fields["note"].required
    html = F.Model(*elements_from_schema(ORDER_SCHEMA)).render()
    assert 'min="1"' in html and 'max="10"' in html and 'minlength="2"' in html
    assert '<option value="m" selected>m</option>' in html


def test_a_form_from_a_schema_validates_its_constraints() -> None:
    form = F.Model(*elements_from_schema(ORDER_SCHEMA))
    good = form.validate(
        {"item": "tea", "count": "3", "size": "l", "address.city": "Oslo"}, form=True
    )
    assert good["count"] == 3 and good["item"] == "tea" and good["express"] is False
    assert good["address.city"] == "Oslo"  # a declared form keeps dotted names flat
    with pytest.raises(F.InputsError) as caught:
        form.validate({"item": "tea", "count": "11", "address.city": "Oslo"}, form=True)
    assert list(caught.value.errors) == ["count"]


def test_a_top_level_ref_is_followed() -> None:
    schema = {"$ref": "#/$defs/P", "$defs": {"P": {"type": "object",
              "properties": {"k": {"type": "number"}}}}}  # fmt: skip
    assert [f.name for f in F.Model(*elements_from_schema(schema)).fields()] == ["k"]


@pytest.mark.parametrize("schema", [{}, {"type": "object"}, {"type": "object", "properties": {}}])
def test_a_schema_without_properties_has_no_inputs(schema: dict[str, Any]) -> None:
    assert elements_from_schema(schema) == []


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([1, 2], "a JSON Schema must be an object, got list"),
        ({"properties": ["a"]}, "properties must be an object, got list"),
        ({"properties": {"a": 3}}, "property 'a': its schema must be an object"),
        ({"$defs": "x", "properties": {}}, r"\$defs must be an object, got str"),
    ],
)
def test_bad_schemas_are_refused_naming_the_part(schema: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        elements_from_schema(schema)
