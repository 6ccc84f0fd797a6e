"""Framework autolog: ``self.autolog("lightning")`` inside an action hooks a training
library's callbacks so its epochs become progress events (category ``"train"``) and its
logged losses and metrics become metrics events, with no manual calls.

One module per framework (:mod:`.lightning`, :mod:`.transformers`, :mod:`.ultralytics`);
packages add more under the ``hoist.integrations`` entry point group (see :mod:`.registry`).
"""

from __future__ import annotations

from hoist.plugins.integrations.base import (
    AutologHandle,
    FrameworkNotInstalledError,
    Integration,
    UnknownIntegrationError,
    detach_all,
)
from hoist.plugins.integrations.registry import (
    ENTRY_POINT_GROUP,
    get_integration,
    known_integrations,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "AutologHandle",
    "FrameworkNotInstalledError",
    "Integration",
    "UnknownIntegrationError",
    "detach_all",
    "get_integration",
    "known_integrations",
]
