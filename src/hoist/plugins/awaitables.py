"""Sync and async user code side by side: an action's ``execute``, a function action or a
step may be ``async def``. The executors call :func:`resolve` on what user code returned;
a plain value passes through untouched (a sync action never needs an event loop)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["resolve"]

T = TypeVar("T")


def resolve(value: Any) -> Any:
    """``value``, awaited to completion when it is awaitable.

    The awaitable runs on a fresh event loop in this thread; when this thread already
    runs a loop (an action called from async code), on a fresh loop in a helper thread,
    so the caller's loop is never re-entered.
    """
    if not inspect.isawaitable(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_wrap(value))
    with ThreadPoolExecutor(1, thread_name_prefix="hoist-async") as pool:
        return pool.submit(asyncio.run, _wrap(value)).result()


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable
