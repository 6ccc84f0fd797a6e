"""Markdown and HTML made safe: markdown-it-py renders, nh3 sanitises.

Both libraries belong to the ``server`` extra and are imported on first use.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from hoist.errors import MissingExtraError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["render_markdown", "sanitize_html"]


def sanitize_html(text: str) -> str:
    """Keep harmless markup only: no script, no event handlers, no ``javascript:`` URLs."""
    try:
        import nh3
    except ImportError as exc:  # pragma: no cover - the server extra is missing
        raise MissingExtraError("server", "nh3") from exc
    return nh3.clean(text)


def render_markdown(text: str) -> str:
    """Render Markdown (dedented first) to sanitised HTML.

    Raw HTML inside the Markdown is shown as text rather than interpreted, and the
    output goes through ``sanitize_html`` as well.
    """
    html = _markdown().render(inspect.cleandoc(text))
    return sanitize_html(html)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    try:
        from markdown_it import MarkdownIt
    except ImportError as exc:  # pragma: no cover - the server extra is missing
        raise MissingExtraError("server", "markdown-it-py") from exc
    options: Any = {"html": False, "linkify": False, "typographer": False}
    return MarkdownIt("commonmark", options).enable(["table", "strikethrough"])
