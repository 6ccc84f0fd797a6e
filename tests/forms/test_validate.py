"""Server-side validation of JSON bodies and form posts."""

from __future__ import annotations

import io

import pytest
from multidict import MultiDict
from pydantic import BaseModel, Field, field_validator
from starlette.datastructures import FormData, UploadFile

from hoist import forms as F

from .conftest import Params

GOOD_POST = {
    "name": "abc",
    "epochs": "4",
    "rate": "0.25",
    "shuffle": "on",
    "color": "green",
    "level": "2",
    "mode": "slow",
    "tags": "a\n b \n\n",
    "sizes": "1\n2",
    "inner.depth": "3",
    "inner.label": "lbl",
    "extra.depth": "",
    "extra.label": "",
    "limit": "",
    "out_dir": "/data",
    "token": "s3cret",
    "day": "2024-02-29",
    "meta": '{"a": 1}',
}


def test_form_post_is_coerced(params_form: F.Model) -> None:
    result = params_form.validate(GOOD_POST)
    assert result == {
        "name": "abc",
        "epochs": 4,
        "rate": 0.25,
        "shuffle": True,
        "color": "green",
        "level": 2,
        "mode": "slow",
        "tags": ["a", "b"],
        "sizes": [1, 2],
        "inner": {"depth": 3, "label": "lbl"},
        "extra": None,
        "limit": None,
        "out_dir": "/data",
        "token": "s3cret",  # revealed: the action needs it
        "day": "2024-02-29",
        "meta": {"a": 1},
    }
    # The result round-trips into the params model.
    model = Params.model_validate(result)
    assert model.token.get_secret_value() == "s3cret"
    assert model.model_dump(mode="json") == {**result, "token": "**********"}


def test_missing_checkbox_is_false_and_blank_means_default(params_form: F.Model) -> None:
    result = params_form.validate({"name": "abc", "epochs": "", "color": ""}, form=True)
    assert result["shuffle"] is False
    assert result["epochs"] == 3 and result["color"] == "red"
    assert result["tags"] == [] and result["inner"] == {"depth": 2, "label": "x"}


@pytest.mark.parametrize("word", ["on", "true", "1", "yes", "TRUE"])
def test_checkbox_truthy_words(word: str) -> None:
    form = F.Model(F.Checkbox("c"), F.InputText("t"))
    assert form.validate({"c": word, "t": ""})["c"] is True
    assert form.validate({"c": "off", "t": ""})["c"] is False


def test_json_body_keeps_defaults(params_form: F.Model) -> None:
    result = params_form.validate({"name": "abc", "inner": {"depth": 5}, "tags": ["x"]})
    assert result["shuffle"] is True  # omitted from JSON: the default, not False
    assert result["inner"] == {"depth": 5, "label": "x"} and result["tags"] == ["x"]
    assert result["token"] == "default-secret"


def test_every_failing_field_is_reported(params_form: F.Model) -> None:
    bad = {
        "name": "A",
        "epochs": "0",
        "rate": "2",
        "color": "blue",
        "sizes": "1\nx",
        "inner.depth": "9",
        "meta": "{bad",
        "day": "someday",
    }
    with pytest.raises(F.InputsError) as caught:
        params_form.validate(bad)
    assert caught.value.errors == {
        "name": ["must have at least 2 characters"],
        "epochs": ["must be >= 1"],
        "rate": ["must be < 1.0"],
        "color": ["must be one of 'red' or 'green'"],
        "sizes": ["item 2: must be an integer"],
        "inner.depth": ["must be <= 5"],
        "meta": ["must be valid JSON"],
        "day": ["must be a date (YYYY-MM-DD)"],
    }


def test_required_and_pattern(params_form: F.Model) -> None:
    with pytest.raises(F.InputsError) as caught:
        params_form.validate({"epochs": "2"}, form=True)
    assert caught.value.errors == {"name": ["field required"]}
    with pytest.raises(F.InputsError) as caught:
        params_form.validate({"name": "ABC"})
    assert caught.value.errors == {"name": ["must match pattern ^[a-z]+$"]}


def test_optional_group_filled_in_is_validated(params_form: F.Model) -> None:
    result = params_form.validate({**GOOD_POST, "extra.depth": "5", "extra.label": ""})
    assert result["extra"] == {"depth": 5, "label": ""}
    with pytest.raises(F.InputsError) as caught:
        params_form.validate({**GOOD_POST, "extra.depth": "7"})
    assert caught.value.errors == {"extra.depth": ["must be <= 5"]}


def test_model_validator_messages_and_global_errors() -> None:
    class P(BaseModel):
        a: int
        b: int = 0

        @field_validator("b")
        @classmethod
        def _even(cls, value: int) -> int:
            if value % 2:
                raise ValueError("must be even")
            return value

    form = F.form_for(P)
    with pytest.raises(F.InputsError) as caught:
        form.validate({"a": "1", "b": "3", "c": "x"})
    assert caught.value.errors == {"b": ["must be even"]}


def test_declared_form_validation(declared_form: F.Model) -> None:
    post = MultiDict(
        [
            ("name", "abc"),
            ("tasks", "3"),
            ("agree", "on"),
            ("color", "r"),
            ("day", "2024-02-02"),
            ("__action__", "save"),
            ("csrf_token", "ignored"),
        ]
    )
    assert declared_form.validate(post) == {
        "name": "abc",
        "password": "hunter2",
        "tasks": 3,
        "ratio": None,
        "notes": None,
        "day": "2024-02-02",
        "at": None,
        "when": None,
        "agree": True,
        "news": False,
        "color": "r",
        "docs": [],
        "__action__": "save",
    }


def test_declared_form_reports_every_rule(declared_form: F.Model) -> None:
    bad = {
        "name": "A1",
        "tasks": "900",
        "ratio": "x",
        "day": "2023-01-01",
        "at": "07:00",
        "color": "q",
        "__action__": "nope",
    }
    with pytest.raises(F.InputsError) as caught:
        declared_form.validate(bad)
    assert caught.value.errors == {
        "name": ["must match pattern [a-z]+"],
        "tasks": ["must be <= 500"],
        "ratio": ["must be a number"],
        "day": ["must be >= 2024-01-01"],
        "at": ["must be >= 08:00:00"],
        "color": ["must be one of 'r' or 'g'"],
        "agree": ["must be checked"],
        "_global_": ["unknown action 'nope'"],
    }


def test_pattern_matches_the_whole_value() -> None:
    form = F.Model(F.InputText("code", required=True, pattern="[0-9]{3}"))
    assert form.validate({"code": "123"}) == {"code": "123"}
    with pytest.raises(F.InputsError):
        form.validate({"code": "x1234"})


def test_select_membership_and_typed_choices() -> None:
    form = F.Model(
        F.Select(
            "n", required=True, option=[F.InputOption("1", choice=1), F.InputOption("2", choice=2)]
        )
    )
    assert form.validate({"n": "2"}) == {"n": 2}
    assert form.validate({"n": 1}) == {"n": 1}
    with pytest.raises(F.InputsError) as caught:
        form.validate({"n": "3"})
    assert caught.value.errors == {"n": ["must be one of 1 or 2"]}


def test_repeated_keys_and_uploads() -> None:
    form = F.Model(
        F.InputList("ids", item_kind="integer", min_items=1),
        F.InputFiles("one", required=True),
        F.InputFiles("many", multiple=True),
    )
    upload = UploadFile(io.BytesIO(b"data"), filename="a.txt")
    post = FormData(
        [
            ("ids", "1"),
            ("ids", "2"),
            ("one", upload),
            ("many", UploadFile(io.BytesIO(b""), filename="")),
        ]
    )
    result = form.validate(post)
    assert result == {"ids": [1, 2], "one": [upload], "many": []}
    with pytest.raises(F.InputsError) as caught:
        form.validate(FormData([("ids", ""), ("one", upload), ("one", upload)]))
    assert caught.value.errors == {
        "ids": ["must have at least 1 items"],
        "one": ["must be a single file"],
    }


def test_lists_accept_python_lists_for_repeated_keys() -> None:
    form = F.Model(F.InputList("tags"), F.Checkbox("c"))
    assert form.validate({"tags": ["a", "", "b"]}) == {"tags": ["a", "b"], "c": False}


def test_optional_number_blank_is_none() -> None:
    class P(BaseModel):
        n: int | None = Field(5, ge=0)
        s: str = "keep"

    form = F.form_for(P)
    assert form.validate({"n": "", "s": ""}) == {"n": None, "s": ""}
    assert form.validate({}) == {"n": 5, "s": "keep"}


@pytest.mark.parametrize(
    ("given", "expected"), [("4", 4), (4, 4), (4.0, 4), ("4.5", 4.5), (0.25, 0.25)]
)
def test_a_whole_number_is_an_int(given: object, expected: float) -> None:
    value = F.Model(F.InputNumber("n")).validate({"n": given})["n"]
    assert value == expected and type(value) is type(expected)


def test_a_constrained_secret_counts_characters_a_list_items() -> None:
    from pydantic import BaseModel, Field, SecretStr, ValidationError

    from hoist.errors import field_errors_from_pydantic

    class Params(BaseModel):
        key: SecretStr = Field(min_length=8)
        tags: list[str] = Field(min_length=2)

    with pytest.raises(ValidationError) as caught:
        Params(key="abc", tags=["a"])  # type: ignore[arg-type]
    assert field_errors_from_pydantic(caught.value.errors()) == {
        "key": ["must have at least 8 characters"],
        "tags": ["must have at least 2 items"],
    }
