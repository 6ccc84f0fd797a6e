"""Rendering a form to an HTML fragment: one ``<form>`` element, every value escaped.

Each input sits in ``<div class="field" data-field="NAME">`` with its ``<label>``, its
help text (``<small class="help" id="ID-help">``) and its errors
(``<ul class="errors" id="ID-errors">``), both referenced by ``aria-describedby``.
The input's ``name`` is its field path and its ``id`` is ``field_id(name)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import singledispatch
from html import escape
from typing import Any

from hoist.forms.base import humanize
from hoist.forms.controls import control
from hoist.forms.elements import (
    HR,
    HTML,
    Action,
    Break,
    Cancel,
    Checkbox,
    Element,
    Errors,
    Fieldset,
    Input,
    InputFiles,
    InputNumber,
    Markdown,
    Submit,
    element_names,
)
from hoist.forms.errors import GLOBAL
from hoist.forms.htmltext import attrs, field_id
from hoist.forms.markup import render_markdown, sanitize_html
from hoist.forms.postdata import ABSENT, is_form_post, lookup

__all__ = ["Context", "render_element", "render_form"]


@dataclass(frozen=True)
class Context:
    """What rendering one element needs to know besides the element."""

    values: Mapping[str, Any] | None
    errors: Mapping[str, list[str]]
    global_errors: list[str]
    posted: bool
    required_ok: bool = True
    """False inside an optional fieldset: its inputs cannot be required in the browser."""

    def value_of(self, element: Input) -> Any:
        """The value to show: from ``values``, else the element's own."""
        found = ABSENT if self.values is None else lookup(self.values, element.name)
        if found is ABSENT:
            if isinstance(element, Checkbox) and self.posted:
                return False  # a form post leaves an unchecked box out
            return getattr(element, "selected", element.value)
        return found


def render_form(
    elements: Sequence[Element],
    values: Mapping[str, Any] | None,
    errors: Mapping[str, Sequence[str] | str] | None,
    *,
    action: str | None,
    csrf_token: str | None,
) -> str:
    """Render the ``<form>``; see ``Model.render``."""
    errs = {k: [v] if isinstance(v, str) else list(v) for k, v in (errors or {}).items()}
    known = element_names(elements)
    stray = [f"{k}: {m}" for k, ms in errs.items() if k != GLOBAL and k not in known for m in ms]
    ctx = Context(
        values=values,
        errors=errs,
        global_errors=errs.get(GLOBAL, []) + stray,
        posted=values is not None and is_form_post(values),
    )
    multipart = any(isinstance(e, InputFiles) for e in _flatten(elements))
    head = attrs(
        method="post",
        action=action,
        enctype="multipart/form-data" if multipart else None,
        accept_charset="utf-8",
        class_="hoist-form",
    )
    parts = [f"<form{head}>"]
    if csrf_token is not None:
        parts.append(f"<input{attrs(type='hidden', name='csrf_token', value=csrf_token)}>")
    if not any(isinstance(e, Errors) for e in elements):
        parts.append(render_element(Errors(), ctx))
    parts.extend(render_element(e, ctx) for e in elements)
    parts.append("</form>")
    return "\n".join(p for p in parts if p)


@singledispatch
def render_element(element: Element, ctx: Context) -> str:
    """Render one element (dispatches on its type)."""
    raise TypeError(f"cannot render {type(element).__name__}")


@render_element.register
def _input(element: Input, ctx: Context) -> str:
    fid = field_id(element.name)
    errors = ctx.errors.get(element.name, [])
    bounds = _bounds(element) if isinstance(element, InputNumber) else ""
    described = [f"{fid}-bounds"] if bounds else []
    described += [f"{fid}-help"] if element.description else []
    described += [f"{fid}-errors"] if errors else []
    common = {
        "id": fid,
        "name": element.name,
        "required": element.required and ctx.required_ok,
        "aria_describedby": " ".join(described) or None,
        "aria_invalid": "true" if errors else None,
        "data_kind": element.kind,
    }
    widget = control(element, ctx.value_of(element), common)
    star = '<span class="required" aria-hidden="true">*</span>' if common["required"] else ""
    title = escape(element.title)
    if isinstance(element, Checkbox):
        option = f"<label{attrs(for_=fid)}>{escape(element.option or element.title)}</label>"
        heading = f'<span class="label">{title}</span>' if element.option else ""
        body = [heading, widget, option]
    else:
        body = [f"<label{attrs(for_=fid)}>{title}{star}</label>", widget]
    if bounds:
        body.append(f"<small{attrs(class_='bounds', id=f'{fid}-bounds')}>{escape(bounds)}</small>")
    if element.description:
        body.append(_help(element.description, fid))
    body.append(_error_list(errors, f"{fid}-errors"))
    classes = f"field field-{element.kind}" + (" has-error" if errors else "")
    inner = "\n".join(b for b in body if b)
    return f"<div{attrs(class_=classes, data_field=element.name)}>\n{inner}\n</div>"


@render_element.register
def _fieldset(element: Fieldset, ctx: Context) -> str:
    fid = field_id(element.name)
    errors = ctx.errors.get(element.name, [])
    inner_ctx = replace(ctx, required_ok=ctx.required_ok and element.required)
    body = [f"<legend>{escape(element.label or humanize(element.name))}</legend>"]
    if element.description:
        body.append(_help(element.description, fid))
    body.append(_error_list(errors, f"{fid}-errors"))
    body.extend(render_element(child, inner_ctx) for child in element.elements)
    head = attrs(id=fid, data_field=element.name, class_="has-error" if errors else None)
    return f"<fieldset{head}>\n" + "\n".join(b for b in body if b) + "\n</fieldset>"


@render_element.register
def _markdown(element: Markdown, ctx: Context) -> str:
    return f'<div class="markdown">\n{render_markdown(element.text)}</div>'


@render_element.register
def _html(element: HTML, ctx: Context) -> str:
    return f'<div class="html">{sanitize_html(element.text)}</div>'


@render_element.register
def _break(element: Break, ctx: Context) -> str:
    return '<div class="break"></div>'


@render_element.register
def _hr(element: HR, ctx: Context) -> str:
    return "<hr>"


@render_element.register
def _errors(element: Errors, ctx: Context) -> str:
    if not ctx.global_errors:
        return ""
    items = "".join(f"<li>{escape(m)}</li>" for m in ctx.global_errors)
    return f'<div class="errors-global" role="alert"><ul class="errors">{items}</ul></div>'


@render_element.register
def _submit(element: Submit, ctx: Context) -> str:
    return f'<button type="submit">{escape(element.text)}</button>'


@render_element.register
def _cancel(element: Cancel, ctx: Context) -> str:
    if element.href is not None:
        link = attrs(href=element.href, role="button", class_="cancel")
        return f"<a{link}>{escape(element.text)}</a>"
    button = attrs(type="button", class_="cancel", data_action="cancel")
    return f"<button{button}>{escape(element.text)}</button>"


@render_element.register
def _action(element: Action, ctx: Context) -> str:
    button = attrs(type="submit", name=element.name, value=element.value, class_="action")
    return f"<button{button}>{escape(element.text or element.value)}</button>"


def _bounds(element: InputNumber) -> str:
    """A number's range in words: ``≥ 1 · ≤ 1000``, ``> 0`` for a strict (``gt``) bound."""
    parts = []
    if element.min_value is not None:
        parts.append(f"{'>' if element.min_exclusive else '≥'} {element.min_value:g}")
    if element.max_value is not None:
        parts.append(f"{'<' if element.max_exclusive else '≤'} {element.max_value:g}")
    return " · ".join(parts)


def _help(description: str, fid: str) -> str:
    return f"<small{attrs(class_='help', id=f'{fid}-help')}>{escape(description)}</small>"


def _error_list(errors: list[str], list_id: str) -> str:
    if not errors:
        return ""
    items = "".join(f"<li>{escape(m)}</li>" for m in errors)
    return f"<ul{attrs(class_='errors', id=list_id, role='alert')}>{items}</ul>"


def _flatten(elements: Sequence[Element]) -> list[Element]:
    out: list[Element] = []
    for element in elements:
        out.append(element)
        if isinstance(element, Fieldset):
            out.extend(_flatten(element.elements))
    return out
