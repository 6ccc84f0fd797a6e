"""The one boundary where provider libraries' exceptions become Hoist's storage errors:
most specific first (the provider's reading), then the standard ``OSError`` family. Every
message is redacted of the location's secrets; a cause that shows one is not chained."""

from __future__ import annotations

import errno
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hoist.errors import (
    StorageError,
    StorageNotFoundError,
    StoragePermissionError,
    StorageUnreachableError,
)
from hoist.storage.providers.base import Classified, Provider, Target, chain
from hoist.storage.secrets import redact_text

__all__ = ["ErrorContext", "storage_error", "translated"]

_UNREACHABLE_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
)


@dataclass(frozen=True)
class ErrorContext:
    """What an error names (the location) and what it must never show (its secrets)."""

    name: str
    provider: Provider
    target: Target
    secrets: Collection[str] = field(default=(), repr=False)


def storage_error(exc: BaseException, context: ErrorContext, path: str) -> StorageError:
    """The Hoist error for ``exc`` raised while working on ``path`` of the location."""
    kind, problem = context.provider.classify(exc, context.target) or _generic(exc)
    problem = redact_text(problem, context.secrets)
    return kind(problem, location=context.name, url=context.target.url, path=path)


@contextmanager
def translated(context: ErrorContext, path: str) -> Iterator[None]:
    """Raise library exceptions inside the block as storage errors about ``path``."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        error = storage_error(exc, context, path)
        if _shows_secret(exc, context.secrets):
            raise error from None
        raise error from exc


def _generic(exc: BaseException) -> Classified:
    for item in chain(exc):
        if isinstance(item, FileNotFoundError):
            return StorageNotFoundError, "not found"
        if isinstance(item, PermissionError):
            return StoragePermissionError, f"permission denied: {_detail(item)}"
        if isinstance(item, IsADirectoryError):
            return StorageError, "is a folder, not a file"
        if isinstance(item, NotADirectoryError):
            return StorageNotFoundError, "not found (a parent is a file, not a folder)"
        if isinstance(item, FileExistsError):
            return StorageError, "already exists"
        if isinstance(item, TimeoutError):
            return StorageUnreachableError, "unreachable: timed out"
        if isinstance(item, ConnectionError) or (
            isinstance(item, OSError) and item.errno in _UNREACHABLE_ERRNOS
        ):
            return StorageUnreachableError, f"unreachable: {_detail(item)}"
    return StorageError, f"{type(exc).__name__}: {_detail(exc)}"


def _detail(exc: BaseException) -> str:
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0]
    return text if len(text) <= 200 else text[:197] + "..."


def _shows_secret(exc: BaseException, secrets: Collection[str]) -> bool:
    texts = [f"{item} {item.args!r}" for item in chain(exc)]
    return any(redact_text(text, secrets) != text for text in texts)
