"""What a run shows the person watching it, rendered for the panel: its ``output`` events
(a service tracer's markdown, html, text, results and actions) and its final result.

Every body is made safe here, once, on the server: Markdown through
:func:`~hoist.forms.markup.render_markdown`, HTML through
:func:`~hoist.forms.markup.sanitize_html` (no script, no event handler), text and JSON as
text that the templates escape. The page's script never builds markup from a body: it
inserts these server-rendered items (``/runs/{id}/outputs``) as they arrive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hoist.forms.markup import render_markdown, sanitize_html
from hoist.runs.models import OutputEvent, ResultEvent, Run
from hoist.runs.store import RunStore

__all__ = [
    "MAX_BODY",
    "OUTPUT_PAGE",
    "OutputView",
    "OutputWindow",
    "markdown_html",
    "output_window",
    "result_view",
]

OUTPUT_PAGE = 50
"""Outputs a run page shows at first (and per "load earlier"); older ones on demand."""
MAX_BODY = 200_000
"""Characters of one body shown; a longer one is cut (the API has it whole)."""
_CACHED_BODY = 20_000
"""Bodies up to this size are rendered once per process (events never change)."""
_TEXT_MODELS = {"Markdown": "markdown", "HTML": "html", "Text": "text"}
_RESPONSE_MODULE = "hoist.services.response."


@dataclass(frozen=True, slots=True)
class OutputView:
    """One output (or the result) ready for a template.

    Attributes:
        seq: the event's seq (0 for a result read from the run row).
        ts: when it was recorded.
        role: ``result`` or ``action``.
        format: ``markdown``, ``html``, ``text`` or ``json``.
        model: the Python type name the service gave it, if any.
        html: sanitised HTML (Markdown and HTML bodies), or ``None``.
        text: text shown escaped in a ``<pre>`` (text and JSON bodies), or ``None``.
        cut: the body was longer than :data:`MAX_BODY` and was cut.
    """

    seq: int
    ts: float | None
    role: str
    format: str
    model: str | None
    html: str | None
    text: str | None
    cut: bool = False


@dataclass(frozen=True, slots=True)
class OutputWindow:
    """A page of a run's outputs in ``seq`` order.

    Attributes:
        items: the outputs.
        has_earlier: older outputs exist before the first one.
        gap: (live reads) more outputs arrived after the asked seq than one page holds:
            the page holds the newest, so whatever the reader shows before is stale.
    """

    items: list[OutputView]
    has_earlier: bool
    gap: bool = False

    @property
    def first_seq(self) -> int:
        """The seq of the first output shown (0 when none)."""
        return self.items[0].seq if self.items else 0

    @property
    def last_seq(self) -> int:
        """The seq of the last output shown (0 when none)."""
        return self.items[-1].seq if self.items else 0


@lru_cache(maxsize=4096)
def _cached_markdown(text: str) -> str:
    return render_markdown(text)


@lru_cache(maxsize=1024)
def _cached_html(text: str) -> str:
    return sanitize_html(text)


def markdown_html(text: str) -> str:
    """``text`` rendered as Markdown and sanitised (small texts are rendered once)."""
    return _cached_markdown(text) if len(text) <= _CACHED_BODY else render_markdown(text)


def _safe_html(text: str) -> str:
    return _cached_html(text) if len(text) <= _CACHED_BODY else sanitize_html(text)


def _view(
    seq: int, ts: float | None, role: str, fmt: str, body: Any, model: str | None
) -> OutputView:
    if fmt == "json":
        text = json.dumps(body, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    else:
        text = "" if body is None else str(body)
    cut = len(text) > MAX_BODY
    if cut:
        text = text[:MAX_BODY]
    if fmt == "markdown":
        return OutputView(seq, ts, role, fmt, model, markdown_html(text), None, cut)
    if fmt == "html":
        return OutputView(seq, ts, role, fmt, model, _safe_html(text), None, cut)
    return OutputView(seq, ts, role, "json" if fmt == "json" else "text", model, None, text, cut)


def output_view(event: OutputEvent) -> OutputView:
    """The view of one output event."""
    return _view(event.seq, event.ts, event.role, event.format, event.body, event.model)


def output_window(
    store: RunStore, run_id: str, *, before: int | None = None, after: int = 0,
    limit: int = OUTPUT_PAGE,
) -> OutputWindow:  # fmt: skip
    """The newest ``limit`` outputs of the run with ``after < seq < before``: one bounded
    read of the newest rows, however many outputs the run has.

    Args:
        store: the run store.
        run_id: the run.
        before: only outputs older than this seq (a "load earlier" page).
        after: only outputs newer than this seq (what a live page has not shown yet).
        limit: at most this many.
    """
    found = store.events_of_type(run_id, ("output",), limit + 1, newest_first=True,
                                 after=after, before=before)  # fmt: skip
    more = len(found) > limit
    items = [output_view(e) for e in reversed(found[:limit]) if isinstance(e, OutputEvent)]
    return OutputWindow(items, has_earlier=more, gap=more and after > 0)


def _text_format(model: str | None) -> str | None:
    if not model:
        return None
    if model.startswith(_RESPONSE_MODULE):
        model = model[len(_RESPONSE_MODULE) :]
    return _TEXT_MODELS.get(model)


def result_view(store: RunStore, run: Run) -> OutputView | None:
    """The run's result as it should be shown: a ``Markdown``/``HTML``/``Text`` result
    rendered like an output, anything else as pretty JSON named by its type; ``None``
    while the run has no result."""
    if run.result is None:
        return None
    found = store.events_of_type(run.id, ("result",), 1, newest_first=True)
    event = found[0] if found and isinstance(found[0], ResultEvent) else None
    model = event.model if event is not None else None
    value = run.result
    fmt = _text_format(model)
    if fmt is not None:
        if isinstance(value, dict) and isinstance(value.get("body"), str) and len(value) == 1:
            value = value["body"]  # the model's dump rather than its body
        if isinstance(value, str):
            return _view(0, event.ts if event else None, "result", fmt, value, model)
    return _view(0, event.ts if event else None, "result", "json", value, model)
