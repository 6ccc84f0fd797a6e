"""Talk to a Hoist server: :class:`HoistClient` (sync) and :class:`AsyncHoistClient`.

Needs ``httpx`` (the ``server`` extra)::

    from hoist.client import HoistClient
    client = HoistClient("http://127.0.0.1:8465", token="hoist_...")
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from hoist._lazy import lazy_getattr
from hoist.errors import MissingExtraError

if TYPE_CHECKING:
    from hoist.client.aio import AsyncHoistClient
    from hoist.client.errors import (
        APIError,
        AuthError,
        BadRequestError,
        ConflictError,
        PermissionDeniedError,
        RateLimitedError,
        ServerError,
    )
    from hoist.client.sync import HoistClient

__all__ = [
    "APIError",
    "AsyncHoistClient",
    "AuthError",
    "BadRequestError",
    "ConflictError",
    "HoistClient",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServerError",
]

_EXPORTS = {
    "HoistClient": "hoist.client.sync",
    "AsyncHoistClient": "hoist.client.aio",
    **{name: "hoist.client.errors" for name in __all__ if name.endswith("Error")},
}
_lazy = lazy_getattr(__name__, _EXPORTS, globals())


def __getattr__(name: str) -> Any:
    if name in _EXPORTS and importlib.util.find_spec("httpx") is None:
        raise MissingExtraError("server", "httpx")
    return _lazy(name)
