"""Agent services in kodosumi's style, on Hoist's run log.

An app written for kodosumi runs with only its imports changed::

    from hoist.services import ServeAPI, Launch, InputsError, Tracer, forms as F

``ServeAPI`` and ``@app.enter`` expose a form and launch an entry point with ``Launch``;
the entry point ``async def execute(inputs, tracer)`` reports through its ``Tracer``;
each launch is a run of kind ``service`` that every view of Hoist shows. ``response``
holds the typed outputs (``Markdown``, ``HTML``, ``Text``). Names are imported on first
use (``forms`` and ``response`` are light and imported with the package).

A run waits for a person with ``await tracer.lock(name, data)``; the app builds that
lock's form with ``@app.lock(name)`` and checks an answer with ``@app.lease(name)``
(held in a :class:`LockHandlers`, answered with a :class:`LockAnswer`). Who asks is a
signed :class:`Identity` (:func:`sign`, :func:`verify`, :class:`IdentityError`; see
:mod:`hoist.services.identity`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist import forms
from hoist._lazy import lazy_getattr
from hoist.services import response

if TYPE_CHECKING:
    from hoist.errors import IdentityError, LockExpiredError
    from hoist.forms.errors import InputsError
    from hoist.services.app import ServeAPI
    from hoist.services.entry import resolve_entry_point
    from hoist.services.execution import Execution, ServiceExecutor
    from hoist.services.identity import Identity, sign, verify
    from hoist.services.launch import Launch
    from hoist.services.locks import LockAnswer, LockHandlers
    from hoist.services.pool import ServicePool
    from hoist.services.ray_pool import RayServicePool
    from hoist.services.response import HTML, Markdown, Text
    from hoist.services.tracer import Tracer, TracerMock

_EXPORTS = {
    "Execution": "hoist.services.execution",
    "HTML": "hoist.services.response",
    "Identity": "hoist.services.identity",
    "IdentityError": "hoist.errors",
    "InputsError": "hoist.forms.errors",
    "Launch": "hoist.services.launch",
    "LockAnswer": "hoist.services.locks",
    "LockExpiredError": "hoist.errors",
    "LockHandlers": "hoist.services.locks",
    "Markdown": "hoist.services.response",
    "RayServicePool": "hoist.services.ray_pool",
    "ServeAPI": "hoist.services.app",
    "ServiceExecutor": "hoist.services.execution",
    "ServicePool": "hoist.services.pool",
    "Text": "hoist.services.response",
    "Tracer": "hoist.services.tracer",
    "TracerMock": "hoist.services.tracer",
    "resolve_entry_point": "hoist.services.entry",
    "sign": "hoist.services.identity",
    "verify": "hoist.services.identity",
}

__all__ = [
    "HTML",
    "Execution",
    "Identity",
    "IdentityError",
    "InputsError",
    "Launch",
    "LockAnswer",
    "LockExpiredError",
    "LockHandlers",
    "Markdown",
    "RayServicePool",
    "ServeAPI",
    "ServiceExecutor",
    "ServicePool",
    "Text",
    "Tracer",
    "TracerMock",
    "forms",
    "resolve_entry_point",
    "response",
    "sign",
    "verify",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
