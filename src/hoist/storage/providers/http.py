"""``http(s)://host/prefix``: files a web server serves, read-only, through fsspec's
``HTTPFileSystem`` (aiohttp)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from hoist.errors import StorageNotFoundError, StoragePermissionError, StorageUnreachableError
from hoist.storage.providers.base import Classified, Provider, Target, named_in_chain
from hoist.storage.secrets import split_userinfo

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = ["HTTPProvider"]


class HTTPProvider(Provider):
    """HTTP(S) reads: open, read, list (the links of an index page), info, download.

    Options: ``headers`` (a mapping), ``token`` (sent as ``Authorization: Bearer``),
    ``username``/``password`` (basic auth; or in the URL), ``timeout`` (seconds, 30).
    Secrets (``token``, ``password``, an ``Authorization`` header) go in credentials.
    """

    schemes = ("http", "https")
    module = "aiohttp"
    read_only = True

    def parse(self, url: str) -> Target:
        """The URL (without user and password) is the root; they become options."""
        clean, user, password = split_userinfo(url)
        parts = urlsplit(clean)
        if not parts.hostname:
            raise ValueError("an http URL needs a host")
        hostport = parts.netloc.rpartition("@")[2]
        root = f"{parts.scheme}://{hostport}{parts.path}".rstrip("/")
        url_options: dict[str, Any] = {}
        if user:
            url_options["username"] = unquote(user)
        if password is not None:
            url_options["password"] = unquote(password)
        return Target(scheme=parts.scheme, root=root, url=root, url_options=url_options)

    def filesystem(self, target: Target, options: Mapping[str, Any]) -> AbstractFileSystem:
        """An ``HTTPFileSystem`` sending the configured headers and auth."""
        aiohttp = self.library()
        from fsspec.implementations.http import HTTPFileSystem  # type: ignore[import-untyped]

        headers = dict(options.get("headers") or {})
        if options.get("token"):
            headers["Authorization"] = f"Bearer {options['token']}"
        client: dict[str, Any] = {
            "headers": headers,
            "timeout": aiohttp.ClientTimeout(total=float(options.get("timeout", 30.0))),
        }
        if options.get("username"):
            client["auth"] = aiohttp.BasicAuth(options["username"], options.get("password", ""))
        fs: AbstractFileSystem = HTTPFileSystem(client_kwargs=client, skip_instance_cache=True)
        return fs

    def url_of(self, target: Target, fs_path: str) -> str:
        """HTTP paths are URLs already."""
        return fs_path

    def classify(self, exc: BaseException, target: Target) -> Classified | None:
        """aiohttp's status errors and failed connections."""
        response = named_in_chain(exc, "ClientResponseError")
        status = getattr(response, "status", None)
        if status in (401, 403):
            return StoragePermissionError, f"permission denied (HTTP {status})"
        if status == 404:
            return StorageNotFoundError, "not found"
        if named_in_chain(exc, "ClientConnectorError", "ServerDisconnectedError"):
            return StorageUnreachableError, "unreachable: could not connect to the server"
        if named_in_chain(exc, "TimeoutError", "ServerTimeoutError"):
            return StorageUnreachableError, "unreachable: the server did not answer in time"
        return None
