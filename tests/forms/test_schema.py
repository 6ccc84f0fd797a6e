"""JSON Schema of declared and generated forms, as OpenAPI would carry it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from hoist import forms as F

from .conftest import Params


def test_generated_form_uses_the_params_schema(params_form: F.Model) -> None:
    assert params_form.json_schema() == Params.model_json_schema()


def test_declared_form_schema(declared_form: F.Model) -> None:
    schema = declared_form.json_schema()
    props = schema["properties"]
    assert schema["type"] == "object" and schema["required"] == ["name"]
    assert props["name"] == {
        "type": "string",
        "title": "Name",
        "minLength": 2,
        "pattern": "^(?:[a-z]+)$",
    }
    tasks = props["tasks"]
    assert tasks["default"] == 25
    assert {"type": "integer", "minimum": 1, "maximum": 500} in tasks["anyOf"]
    assert props["password"]["format"] == "password" and props["password"]["writeOnly"]
    assert props["agree"] == {"type": "boolean", "default": False, "title": "Agree"}
    assert props["news"]["default"] is True
    assert {"type": "string", "enum": ["r", "g"]} in props["color"]["anyOf"]
    assert props["color"]["default"] == "g"
    assert {"type": "string", "format": "date"} in props["day"]["anyOf"]
    assert props["docs"]["items"] == {"type": "string", "format": "binary"}
    assert props["__action__"]["enum"] == ["save", "draft"]


def test_schemas_are_valid_json_schema(params_form: F.Model, declared_form: F.Model) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for form in (params_form, declared_form):
        jsonschema.Draft202012Validator.check_schema(form.json_schema())
    validator = jsonschema.Draft202012Validator(declared_form.json_schema())
    assert validator.is_valid({"name": "abc", "tasks": 3})
    assert not validator.is_valid({"name": "abc", "tasks": 0})


def test_bad_declarations_fail_early() -> None:
    with pytest.raises(F.FormDefinitionError, match="used twice"):
        F.Model(F.InputText("a"), F.InputNumber("a"))
    with pytest.raises(F.FormDefinitionError, match="at least one option"):
        F.Model(F.Select("s"))
    with pytest.raises(F.FormDefinitionError, match="does not fit"):
        F.Model(F.InputNumber("n", value="many"))
    with pytest.raises(F.FormDefinitionError, match="does not fit"):
        F.Model(F.InputDate("d", min_date="yesterday"))


def test_unusual_names_work() -> None:
    form = F.Model(F.InputText("first-name"), F.InputText("_private"))
    assert set(form.json_schema()["properties"]) == {"first-name", "_private"}
    assert form.validate({"first-name": "a", "_private": "b"}) == {
        "first-name": "a",
        "_private": "b",
    }


def test_union_fields_fall_back_to_text_and_json() -> None:
    class P(BaseModel):
        either: int | str = 1
        blob: dict[str, int] | list[int] = []

    kinds = {f.name: f.kind for f in F.form_for(P).fields()}
    assert kinds == {"either": "text", "blob": "json"}
    assert F.form_for(P).validate({"either": "7", "blob": "[1]"}) == {"either": "7", "blob": [1]}
