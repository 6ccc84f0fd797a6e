"""``s3://bucket/prefix``: Amazon S3 or any S3-compatible server, through s3fs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hoist.errors import StorageError, StoragePermissionError, StorageUnreachableError
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

__all__ = ["S3Provider"]

# AWS's own names for the credentials, accepted beside s3fs's (key, secret, token).
_ALIASES = {
    "aws_access_key_id": "key",
    "aws_secret_access_key": "secret",
    "aws_session_token": "token",
}


class S3Provider(Provider):
    """S3 through ``s3fs.S3FileSystem``.

    Options: ``endpoint_url`` (an S3-compatible server), ``region``, ``key``/``secret``/
    ``token`` (or AWS's names for them; give them as credentials), ``anon``; any other
    option is passed to ``S3FileSystem`` as is (``config_kwargs``, ``default_block_size``).
    Without credentials, botocore's usual chain applies (``AWS_*`` variables, profiles).
    """

    schemes = ("s3", "s3a")
    server_side_copy = True
    module = "s3fs"

    def parse(self, url: str) -> Target:
        """``s3://bucket/prefix`` to root ``bucket/prefix``."""
        return bucket_target(url, "s3")

    def filesystem(self, target: Target, options: Mapping[str, Any]) -> AbstractFileSystem:
        """An ``S3FileSystem`` with the options mapped to s3fs's names."""
        s3fs = self.library()
        kwargs: dict[str, Any] = {}
        for name, value in options.items():
            kwargs[_ALIASES.get(name, name)] = value
        region = kwargs.pop("region", None)
        if region:
            kwargs["client_kwargs"] = {**kwargs.get("client_kwargs", {}), "region_name": region}
        fs: AbstractFileSystem = s3fs.S3FileSystem(**kwargs)
        return fs

    def classify(self, exc: BaseException, target: Target) -> Classified | None:
        """Missing bucket, refused credentials, unreachable endpoint (botocore's names)."""
        if (found := missing_bucket(exc, target)) is not None:
            return found
        if named_in_chain(exc, "NoCredentialsError", "PartialCredentialsError"):
            return StoragePermissionError, "no credentials (configure key and secret)"
        if denied := named_in_chain(exc, "PermissionError"):
            text = " ".join(str(e) for e in chain(denied))
            if "signature" in text.lower() or "InvalidAccessKeyId" in text:
                return StoragePermissionError, "permission denied: wrong credentials"
            return StoragePermissionError, "permission denied (wrong credentials, or no access)"
        if named_in_chain(exc, "EndpointConnectionError", "ConnectTimeoutError"):
            return StorageUnreachableError, "unreachable: could not connect to the endpoint"
        if named_in_chain(exc, "ReadTimeoutError"):
            return StorageUnreachableError, "unreachable: the endpoint did not answer in time"
        if named_in_chain(exc, "InvalidBucketName"):
            return StorageError, f"invalid bucket name '{target.root.split('/')[0]}'"
        return None
