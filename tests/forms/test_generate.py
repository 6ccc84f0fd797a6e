"""Forms generated from a pydantic params model."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from hoist import forms as F

from .conftest import Params


def _tag(html: str, name: str) -> str:
    match = re.search(rf'<(input|textarea|select)[^>]* name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no control {name}"
    return match.group(0)


def test_one_input_per_field_with_its_kind(params_form: F.Model) -> None:
    kinds = {f.name: f.kind for f in params_form.fields()}
    assert kinds == {
        "name": "text",
        "epochs": "integer",
        "rate": "number",
        "shuffle": "checkbox",
        "color": "select",
        "level": "select",
        "mode": "select",
        "tags": "list",
        "sizes": "list",
        "inner.depth": "integer",
        "inner.label": "text",
        "extra.depth": "integer",
        "extra.label": "text",
        "limit": "integer",
        "out_dir": "path",
        "token": "password",
        "day": "date",
        "meta": "json",
    }
    assert params_form.params is Params


def test_labels_descriptions_required(params_form: F.Model) -> None:
    fields = {f.name: f for f in params_form.fields()}
    assert fields["name"].title == "Name" and fields["name"].description == "Run name"
    assert fields["out_dir"].title == "Out Dir"
    assert fields["name"].required
    assert not fields["epochs"].required  # has a default
    assert not fields["limit"].required and fields["limit"].nullable  # Optional


def test_constraints_become_browser_attributes(params_form: F.Model) -> None:
    html = params_form.render()
    name = _tag(html, "name")
    assert " required" in name
    assert 'pattern="^[a-z]+$"' in name and 'minlength="2"' in name and 'maxlength="10"' in name
    epochs = _tag(html, "epochs")
    assert 'min="1"' in epochs and 'max="10"' in epochs and 'value="3"' in epochs
    rate = _tag(html, "rate")
    assert 'step="any"' in rate and 'min="0"' in rate and 'max="1"' in rate
    assert 'min="0"' in _tag(html, "limit") and " required" not in _tag(html, "limit")
    assert 'aria-describedby="field-name-help"' in name
    assert '<small class="help" id="field-name-help">Run name</small>' in html


def test_types_map_to_controls(params_form: F.Model) -> None:
    html = params_form.render()
    assert 'type="checkbox"' in _tag(html, "shuffle") and " checked" in _tag(html, "shuffle")
    assert '<option value="red" selected>red</option>' in html  # Enum default
    assert '<option value="fast" selected>fast</option>' in html  # Literal default
    assert '<option value="2">2</option>' in html  # IntEnum values
    assert _tag(html, "tags").startswith("<textarea")
    assert 'data-kind="path"' in _tag(html, "out_dir") and 'value="/tmp/out"' in _tag(
        html, "out_dir"
    )
    assert 'type="password"' in _tag(html, "token")
    assert "default-secret" not in html and "*****" not in html
    assert 'type="date"' in _tag(html, "day")


def test_nested_model_is_a_fieldset_with_dotted_names(params_form: F.Model) -> None:
    html = params_form.render()
    assert '<fieldset id="field-inner" data-field="inner">' in html
    depth = _tag(html, "inner.depth")
    assert 'id="field-inner-depth"' in depth
    assert 'value="4"' in depth  # the enclosing default Inner(depth=4) wins
    # An Optional group with no default: blank, and nothing in it required.
    extra = _tag(html, "extra.depth")
    assert "value=" not in extra and " required" not in extra


def test_list_values_one_per_line(params_form: F.Model) -> None:
    html = params_form.render({"tags": ["a", "b"], "name": "x"})
    assert ">a\nb</textarea>" in html


def test_required_nested_inputs_and_optional_groups() -> None:
    class Leaf(BaseModel):
        must: str

    class Root(BaseModel):
        leaf: Leaf
        maybe: Leaf | None = None

    html = F.form_for(Root).render()
    assert " required" in _tag(html, "leaf.must")
    assert " required" not in _tag(html, "maybe.must")


def test_submit_text_and_none() -> None:
    class P(BaseModel):
        n: int = Field(1, description="count")

    assert '<button type="submit">Launch</button>' in F.form_for(P, submit="Launch").render()
    assert "<button" not in F.Model.from_params(P, submit=None).render()


def test_declared_layout_validated_by_params() -> None:
    class P(BaseModel):
        n: int = Field(ge=1)

    form = F.Model(F.Markdown("Intro"), *F.form_for(P).elements, params=P)
    assert "<p>Intro</p>" in form.render()
    assert form.validate({"n": "2"}) == {"n": 2}
