"""Typed outputs a service returns or traces: ``Markdown``, ``HTML`` and ``Text`` (as
kodosumi's ``response`` module has them), and :func:`output_of`, which turns any value a
service produces into what an :class:`~hoist.runs.models.OutputEvent` or a result event
records: a render format, a JSON body and the name of its type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel

from hoist.plugins.invoke import jsonable

__all__ = ["HTML", "Markdown", "Output", "Text", "output_of"]


class _Body(BaseModel):
    """A text output: ``Markdown("# Done")``, ``Markdown(body=...)``, or a list of lines
    (``Markdown(["# Found", "* 153"])``, joined by newlines), as kodosumi's take it."""

    body: str

    def __init__(self, body: str | Sequence[str] | None = None, **data: Any) -> None:
        if body is not None:
            data["body"] = body if isinstance(body, str) else "\n".join(map(str, body))
        super().__init__(**data)


class Markdown(_Body):
    """Markdown text, rendered (sanitised) by the panel."""


class HTML(_Body):
    """HTML, shown by the panel after sanitising (no script, no event handlers)."""


class Text(_Body):
    """Plain text, shown as it is."""


_FORMATS: dict[type[BaseModel], Literal["markdown", "html", "text"]] = {
    Markdown: "markdown",
    HTML: "html",
    Text: "text",
}

Output = tuple[Literal["markdown", "html", "text", "json"], Any, str | None]
"""``(format, body, model)``: how to render, what, and the Python type's name."""


def output_of(value: Any) -> Output:
    """What ``value`` is recorded as: a ``Markdown``/``HTML``/``Text`` keeps its format
    and body text; a pydantic model is its JSON dump named by its class; anything else
    is JSON data (named by its class when it is not plain JSON)."""
    cls = type(value)
    text_format = _FORMATS.get(cls)
    if text_format is not None:
        return text_format, value.body, cls.__name__
    if isinstance(value, BaseModel):
        return "json", jsonable(value), f"{cls.__module__}.{cls.__qualname__}"
    plain = value is None or isinstance(value, str | int | float | bool | dict | list)
    model = None if plain else f"{cls.__module__}.{cls.__qualname__}"
    return "json", jsonable(value), model
