"""``gs://bucket/prefix``: Google Cloud Storage through gcsfs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hoist.errors import StorageNotFoundError, StoragePermissionError, StorageUnreachableError
from hoist.storage.providers.base import (
    Classified,
    Provider,
    Target,
    bucket_target,
    chain,
    missing_bucket,
    named_in_chain,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = ["GCSProvider"]


class GCSProvider(Provider):
    """GCS through ``gcsfs.GCSFileSystem``.

    Options: ``project``, ``endpoint_url`` (an emulator), ``token`` (give it as a
    credential: a service-account JSON file as ``credentials: {file: key.json}``, or
    ``anon``); any other option is passed to ``GCSFileSystem`` as is. Without a token,
    Google's default credentials apply (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud).
    """

    schemes = ("gs", "gcs")
    server_side_copy = True
    module = "gcsfs"

    def parse(self, url: str) -> Target:
        """``gs://bucket/prefix`` to root ``bucket/prefix``."""
        return bucket_target(url, "gs")

    def filesystem(self, target: Target, options: Mapping[str, Any]) -> AbstractFileSystem:
        """A ``GCSFileSystem`` with the options as given."""
        gcsfs = self.library()
        fs: AbstractFileSystem = gcsfs.GCSFileSystem(**options)
        return fs

    def credentials_from_file(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A service-account (or authorized-user) JSON key is the token itself."""
        if "type" in data and ("private_key" in data or "refresh_token" in data):
            return {"token": dict(data)}
        return dict(data)

    def classify(self, exc: BaseException, target: Target) -> Classified | None:
        """Missing bucket, HTTP 401/403/404 from the API, refused or missing credentials."""
        if (found := missing_bucket(exc, target)) is not None:
            return found
        if http := named_in_chain(exc, "HttpError"):
            code = getattr(http, "code", None)
            if code in (401, 403):
                return StoragePermissionError, f"permission denied ({code}): {http}"
            if code == 404:
                return StorageNotFoundError, "not found"
        if any(str(e).startswith("Forbidden") for e in chain(exc)):  # gcsfs's 403
            return (
                StoragePermissionError,
                "permission denied (HTTP 403: wrong account, or no access)",
            )
        if named_in_chain(exc, "RefreshError", "DefaultCredentialsError"):
            return StoragePermissionError, "credentials refused or missing"
        if named_in_chain(exc, "ClientConnectorError", "ServerDisconnectedError"):
            return StorageUnreachableError, "unreachable: could not connect to the endpoint"
        return None
