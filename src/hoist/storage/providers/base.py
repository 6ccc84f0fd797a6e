"""The provider interface: how one URL scheme becomes an fsspec filesystem, where its
root is, and what its library's exceptions mean."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hoist.errors import MissingExtraError, StorageError, StorageNotFoundError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = [
    "Classified",
    "Provider",
    "Target",
    "bucket_of",
    "bucket_target",
    "chain",
    "missing_bucket",
    "named_in_chain",
]

#: What a provider makes of an exception: the error class and the problem in words.
Classified = tuple[type[StorageError], str]


@dataclass(frozen=True)
class Target:
    """Where a URL points, split for its provider.

    Attributes:
        scheme: the URL's scheme (``s3``, ``file``, ...).
        root: the filesystem path of the root (``bucket/prefix``, ``/abs/dir``, or the
            whole URL for HTTP), without a trailing ``/``.
        url: the root URL, without credentials.
        url_options: options the URL itself carries (host, port, username, password).
    """

    scheme: str
    root: str
    url: str
    url_options: Mapping[str, Any] = field(default_factory=dict, repr=False)


class Provider(ABC):
    """One storage kind: parses its URLs and builds the fsspec filesystem.

    Subclasses set ``schemes`` (and ``module``, the library needing the ``storage``
    extra), and say whether the storage has real folders (``has_directories``: parents
    are made before a write) or only reads (``read_only``).
    """

    schemes: tuple[str, ...] = ()
    module: str = "fsspec"
    read_only: bool = False
    has_directories: bool = False
    #: The filesystem copies within itself without the bytes passing through here.
    server_side_copy: bool = False
    #: A file can be opened to append to it (folders on disk, SFTP; not object stores).
    appendable: bool = False

    @abstractmethod
    def parse(self, url: str) -> Target:
        """Split ``url`` (of one of ``schemes``) into its root and URL-borne options."""

    @abstractmethod
    def filesystem(self, target: Target, options: Mapping[str, Any]) -> AbstractFileSystem:
        """The fsspec filesystem for ``target`` with ``options`` (credentials included)."""

    def url_of(self, target: Target, fs_path: str) -> str:
        """The URL of a filesystem path below ``target`` (never with credentials)."""
        return f"{target.scheme}://{fs_path}"

    def classify(self, exc: BaseException, target: Target) -> Classified | None:
        """This provider's reading of a library exception, or ``None`` for the generic
        mapping (``FileNotFoundError``, ``PermissionError``, connection errors)."""
        return None

    def credentials_from_file(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Options from a parsed credentials file (a mapping of option to value)."""
        return dict(data)

    def library(self) -> ModuleType:
        """Import the provider's library, or say which extra installs it."""
        try:
            return importlib.import_module(self.module)
        except ImportError as exc:
            raise MissingExtraError("storage", self.module) from exc


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen) and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def named_in_chain(exc: BaseException, *names: str) -> BaseException | None:
    """The first exception of ``exc``'s chain whose class (or a base) has one of
    ``names``: a library's exception recognised without importing the library."""
    for item in chain(exc):
        if any(cls.__name__ in names for cls in type(item).__mro__):
            return item
    return None


def bucket_target(url: str, scheme: str) -> Target:
    """``<scheme>://bucket/prefix`` as a target rooted at ``bucket/prefix`` (S3, GCS)."""
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError(f"{url!r} names no bucket ({scheme}://bucket/prefix)")
    root = f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")
    return Target(scheme=scheme, root=root, url=f"{scheme}://{root}")


def bucket_of(target: Target) -> str:
    """The bucket of an object-store root (``bucket/prefix`` -> ``bucket``)."""
    return target.root.split("/", 1)[0]


def missing_bucket(exc: BaseException, target: Target) -> Classified | None:
    """A not-found that is about the bucket itself (S3's and GCS's wording)."""
    text = " ".join(f"{type(e).__name__} {e}" for e in chain(exc))
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        return StorageNotFoundError, f"bucket '{bucket_of(target)}' does not exist"
    return None
