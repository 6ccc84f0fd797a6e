"""A run's locks for its page: each lock a service's run opened (``tracer.lock``) with
its phase, the form of one still open (rendered on the server from the elements its
``lock(open)`` event carries) and the history of answers (who, when, what).

The elements come from the service, so nothing of them is trusted: they are rebuilt with
:func:`~hoist.services.forms_io.elements_from_json` and rendered by :mod:`hoist.forms`
(every value escaped, Markdown and HTML sanitised); a form that cannot be rebuilt is
reported, not shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from hoist import forms as F
from hoist.errors import HoistError
from hoist.runs.models import LockEvent, Run
from hoist.runs.store import RunStore
from hoist.server.auth import Principal
from hoist.server.service_calls import may_answer_lock
from hoist.services.forms_io import elements_from_json

__all__ = [
    "MAX_LOCK_EVENTS",
    "LockPost",
    "LockView",
    "lock_form",
    "lock_model",
    "lock_views",
    "locks_context",
]

MAX_LOCK_EVENTS = 200
"""The newest lock events a run page reads (every phase of ~100 locks)."""

LockPost = tuple[str, Mapping[str, Any], Mapping[str, Sequence[str] | str]]
"""A posted answer shown again: the lock's id, what was posted and the errors."""


@dataclass(slots=True)
class LockView:
    """One lock of a run, its phases folded together.

    Attributes:
        lock_id: the lock's id (the answer's URL names it).
        name: the lock's name (``@app.lock(name)``).
        phase: its newest phase: ``open``, ``answered``, ``expired`` or ``cancelled``.
        opened_at: when it opened (``None`` if the page's window missed the opening).
        expires_at: when it expires, if it does.
        data: what the run passed to ``tracer.lock(data=...)``.
        elements: the form's elements as JSON (open locks).
        answer: the answer (secrets masked), once answered.
        user: who answered.
        ended_at: when it was answered, expired or cancelled.
        seq: the seq of its newest event (a changed seq means a changed lock).
    """

    lock_id: str
    name: str
    phase: str
    opened_at: float | None
    expires_at: float | None = None
    data: Any = None
    elements: list[dict[str, Any]] | None = None
    answer: dict[str, Any] | None = None
    user: str | None = None
    ended_at: float | None = None
    seq: int = 0

    @property
    def is_open(self) -> bool:
        """True while the lock waits for an answer."""
        return self.phase == "open"


def lock_views(store: RunStore, run_id: str, limit: int = MAX_LOCK_EVENTS) -> list[LockView]:
    """The run's locks, oldest first, from its newest ``limit`` lock events."""
    found = store.events_of_type(run_id, ("lock",), limit, newest_first=True)
    views: dict[str, LockView] = {}
    for event in reversed(found):
        if not isinstance(event, LockEvent):
            continue
        view = views.get(event.lock_id)
        if view is None:
            view = views[event.lock_id] = LockView(event.lock_id, event.name, event.phase, None)
        view.phase, view.seq = event.phase, event.seq
        if event.phase == "open":
            view.opened_at, view.expires_at = event.ts, event.expires_at
            view.data, view.elements = event.data, event.elements
        else:
            view.ended_at = event.ts
            view.answer, view.user = event.answer, event.user
    return list(views.values())


def lock_model(view: LockView) -> F.Model:
    """The form of an open lock, rebuilt from its elements.

    Raises:
        ValueError: the elements are not a form this Hoist can rebuild.
    """
    if not view.elements:
        raise ValueError(f"lock {view.name!r} carries no form")
    try:
        return F.Model(*elements_from_json(view.elements))
    except (HoistError, TypeError) as exc:  # a definition error: duplicate names...
        raise ValueError(f"lock {view.name!r}: {exc}") from None


def lock_form(
    view: LockView,
    run_id: str,
    *,
    csrf_token: str | None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, Sequence[str] | str] | None = None,
) -> str:
    """The HTML of an open lock's form, posting to the panel's answer route (a form the
    elements cannot build is a note saying so: the API can still answer it)."""
    try:
        model = lock_model(view)
    except ValueError as exc:
        return f'<p class="alert">{escape(str(exc))}</p>'
    if not any(isinstance(e, F.Submit) for e in model.elements):
        model = F.Model(*model.elements, F.Submit("Answer"))
    action = f"/runs/{run_id}/locks/{view.lock_id}"
    return model.render(values, errors, action=action, csrf_token=csrf_token)


def locks_context(
    store: RunStore,
    run: Run,
    principal: Principal,
    posted: LockPost | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    """What ``parts/locks.html`` (and the header's awaiting note) need.

    Args:
        store: the run store.
        run: the run.
        principal: the viewer (answering needs the launcher or an operator).
        posted: an answer to show again with its errors.
        notice: a sentence about the last answer (the lock was gone...).
    """
    views = lock_views(store, run.id)
    allowed = may_answer_lock(run, principal)
    forms = {}
    for view in views:
        if view.is_open:
            values = errors = None
            if posted is not None and posted[0] == view.lock_id:
                values, errors = posted[1], posted[2]
            forms[view.lock_id] = lock_form(
                view, run.id, csrf_token=principal.csrf_token if allowed else None,
                values=values, errors=errors,
            )  # fmt: skip
    return {
        "locks": views,
        "open_locks": [v for v in views if v.is_open],
        "closed_locks": [v for v in views if not v.is_open],
        "lock_forms": forms,
        "lock_version": max((v.seq for v in views), default=0),
        "lock_notice": notice,
        "can_answer": allowed,
    }
