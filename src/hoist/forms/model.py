"""``Model``: a form, declared element by element or generated from a params model."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from hoist.forms.elements import (
    Action,
    Element,
    Errors,
    Fieldset,
    Input,
    InputFiles,
    Select,
    Submit,
    walk_inputs,
)
from hoist.forms.errors import GLOBAL, FormDefinitionError
from hoist.forms.generate import elements_for
from hoist.forms.render import render_form
from hoist.forms.schema import declared_model, declared_schema
from hoist.forms.validate import validate_inputs

__all__ = ["Model", "form_for"]


class Model:
    """A form: its elements, and how to render, describe and validate them.

    Declared, as in kodosumi::

        form = F.Model(
            F.Markdown("# My Service"),
            F.InputNumber("tasks", "Number of tasks", value=25, min_value=1, integer=True),
            F.Submit("Submit"),
            F.Cancel("Cancel"),
        )

    or generated from a pydantic params model with ``F.form_for(Params)``; the params
    model then does the validation and provides the JSON Schema. A declared layout can
    also be validated by a params model: ``F.Model(intro, *F.form_for(P).elements,
    params=P)``.

    Attributes:
        elements: the elements, in order.
        params: the params model, for a generated form (``None`` for a declared one).
    """

    def __init__(self, *elements: Element, params: type[BaseModel] | None = None) -> None:
        """Create a form.

        Args:
            *elements: the form's elements, in order.
            params: validate with this pydantic model (inputs are then named by its
                field paths) instead of a model built from the elements.

        Raises:
            FormDefinitionError: duplicate names, a select without options, a default
                that does not fit its input...
        """
        self.elements: tuple[Element, ...] = tuple(elements)
        self.params = params
        _check(self.elements)
        self._validator = params if params is not None else declared_model(self.elements)

    @classmethod
    def from_params(cls, params: type[BaseModel], *, submit: str | None = "Submit") -> Model:
        """Generate the form of a pydantic params model.

        Args:
            params: the model; one input per field, nested models as fieldsets.
            submit: the submit button's text (``None`` for no button).

        Returns:
            The form, validated by ``params``.
        """
        elements = [Errors(), *elements_for(params)]
        if submit is not None:
            elements.append(Submit(submit))
        return cls(*elements, params=params)

    def fields(self) -> Iterator[Input]:
        """The inputs (fieldsets opened), each with ``name``, ``title``, ``kind``,
        ``required``, ``description`` and ``value``: enough to describe the form."""
        return iter(walk_inputs(self.elements))

    def render(
        self,
        values: Mapping[str, Any] | None = None,
        errors: Mapping[str, Sequence[str] | str] | None = None,
        *,
        action: str | None = None,
        csrf_token: str | None = None,
    ) -> str:
        """Render the form as an HTML fragment (one ``<form method="post">``).

        Args:
            values: what the inputs show: the submitted data (a form post or a JSON
                body, nested or dotted) or the validated inputs; inputs missing from it
                show their own ``value``, except an unchecked checkbox of a form post.
                Secrets are never shown.
            errors: ``{field: [messages]}`` (``InputsError.errors``), shown next to each
                field; ``_global_`` ones, and any for a name the form lacks, go to the
                ``Errors`` element (or the top of the form).
            action: the form's ``action`` URL (absent: post to the page's own URL).
            csrf_token: rendered as a hidden ``csrf_token`` input when given.

        Returns:
            The HTML, every value escaped and every Markdown/HTML element sanitised.
        """
        return render_form(self.elements, values, errors, action=action, csrf_token=csrf_token)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the inputs: the params model's, or one built from the
        declared elements (types, required, bounds, patterns, enums, defaults)."""
        if self.params is not None:
            return self.params.model_json_schema(by_alias=True)
        return declared_schema(self.elements, self._validator)

    def validate(self, data: Mapping[str, Any], *, form: bool | None = None) -> dict[str, Any]:
        """Validate and coerce submitted inputs.

        Args:
            data: a JSON body (typed values) or a form post (strings; a multidict, or a
                mapping whose value is a list for a repeated key).
            form: ``True``/``False`` to say which; ``None`` guesses: a multidict, or a
                non-empty mapping holding only strings (and uploads), is a form post.

        Returns:
            The inputs, JSON-ready: for a params model's form, nested dicts shaped like
            ``params.model_dump(mode="json")`` with secrets revealed; for a declared
            form, ``{name: value}`` for every input (``None`` when not given), plus the
            pressed ``Action`` button's ``{name: value}``.

        Raises:
            InputsError: with every failing field and its messages.
        """
        return validate_inputs(
            self.elements, self._validator, data, nest=self.params is not None, form=form
        )

    def __repr__(self) -> str:
        source = self.params.__name__ if self.params is not None else "declared"
        return f"<Model {source}: {[i.name for i in self.fields()]}>"


def form_for(params: type[BaseModel], *, submit: str | None = "Submit") -> Model:
    """Generate the form of a pydantic params model (``Model.from_params``)."""
    return Model.from_params(params, submit=submit)


def _check(elements: Sequence[Element]) -> None:
    seen: set[str] = set()
    actions: set[str] = set()
    for element in elements:
        if isinstance(element, Action):
            actions.add(element.name)
    for element in _with_fieldsets(elements):
        name = element.name
        if not name:
            raise FormDefinitionError("an input needs a name", element=type(element).__name__)
        if name in seen or name in actions or name == GLOBAL:
            raise FormDefinitionError("the name is used twice", element=name)
        seen.add(name)
        if isinstance(element, Select) and not element.option:
            raise FormDefinitionError("a select needs at least one option", element=name)
        if isinstance(element, InputFiles) and element.nullable:
            raise FormDefinitionError("a file input cannot be nullable", element=name)


def _with_fieldsets(elements: Sequence[Element]) -> Iterator[Input | Fieldset]:
    for element in elements:
        if isinstance(element, Fieldset):
            yield element
            yield from _with_fieldsets(element.elements)
        elif isinstance(element, Input):
            yield element
