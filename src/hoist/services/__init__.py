"""Agent services in kodosumi's style, on Hoist's run log.

An app written for kodosumi runs with only its imports changed::

    from hoist.services import ServeAPI, Launch, InputsError, Tracer, forms as F

``ServeAPI`` and ``@app.enter`` expose a form and launch an entry point with ``Launch``;
the entry point ``async def execute(inputs, tracer)`` reports through its ``Tracer``;
each launch is a run of kind ``service`` that every view of Hoist shows. ``response``
holds the typed outputs (``Markdown``, ``HTML``, ``Text``). Names are imported on first
use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hoist import forms
    from hoist.forms.errors import InputsError
    from hoist.services import response
    from hoist.services.app import ServeAPI
    from hoist.services.entry import resolve_entry_point
    from hoist.services.execution import Execution, ServiceExecutor
    from hoist.services.launch import Launch
    from hoist.services.pool import ServicePool
    from hoist.services.response import HTML, Markdown, Text
    from hoist.services.tracer import Tracer, TracerMock

# name -> (module, attribute); attribute None: the module itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "Execution": ("hoist.services.execution", "Execution"),
    "HTML": ("hoist.services.response", "HTML"),
    "InputsError": ("hoist.forms.errors", "InputsError"),
    "Launch": ("hoist.services.launch", "Launch"),
    "Markdown": ("hoist.services.response", "Markdown"),
    "ServeAPI": ("hoist.services.app", "ServeAPI"),
    "ServiceExecutor": ("hoist.services.execution", "ServiceExecutor"),
    "ServicePool": ("hoist.services.pool", "ServicePool"),
    "Text": ("hoist.services.response", "Text"),
    "Tracer": ("hoist.services.tracer", "Tracer"),
    "TracerMock": ("hoist.services.tracer", "TracerMock"),
    "forms": ("hoist.forms", None),
    "resolve_entry_point": ("hoist.services.entry", "resolve_entry_point"),
    "response": ("hoist.services.response", None),
}

__all__ = [
    "HTML",
    "Execution",
    "InputsError",
    "Launch",
    "Markdown",
    "ServeAPI",
    "ServiceExecutor",
    "ServicePool",
    "Text",
    "Tracer",
    "TracerMock",
    "forms",
    "resolve_entry_point",
    "response",
]


def __getattr__(name: str) -> Any:
    found = _EXPORTS.get(name)
    if found is None:
        raise AttributeError(f"module 'hoist.services' has no attribute {name!r}")
    module_name, attribute = found
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value
