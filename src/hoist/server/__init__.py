"""The Hoist server: REST API, live streams (SSE) and accounts, on the run store.

Needs the ``server`` extra (``pip install 'hoist[server]'``)::

    from hoist.server import create_app
    app = create_app(Settings.from_env())
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from hoist.errors import MissingExtraError

if TYPE_CHECKING:
    from hoist.server.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name != "create_app":
        raise AttributeError(f"module 'hoist.server' has no attribute {name!r}")
    for module in ("fastapi", "uvicorn", "argon2", "itsdangerous", "prometheus_client"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError("server", module)
    from hoist.server.app import create_app

    return create_app
