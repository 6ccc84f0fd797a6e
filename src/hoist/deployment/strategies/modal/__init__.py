"""The ``modal`` strategy: the callable as a Modal function (``modal deploy``), called
with ``modal.Function.from_name(app, "run").remote(inputs)`` from the modal environment."""

from __future__ import annotations

from hoist.deployment.strategies.modal.runner import ModalRunner

__all__ = ["ModalRunner"]
