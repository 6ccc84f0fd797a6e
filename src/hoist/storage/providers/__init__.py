"""The storage providers, one per kind of URL, and the lookup by scheme."""

from __future__ import annotations

from hoist.errors import StorageError
from hoist.storage.providers.base import Provider, Target
from hoist.storage.providers.gcs import GCSProvider
from hoist.storage.providers.http import HTTPProvider
from hoist.storage.providers.local import LocalProvider
from hoist.storage.providers.s3 import S3Provider
from hoist.storage.providers.sftp import SFTPProvider

__all__ = ["PROVIDERS", "Provider", "Target", "provider_for"]

#: Scheme -> provider; one instance each (providers keep no state).
PROVIDERS: dict[str, Provider] = {
    scheme: provider
    for provider in (LocalProvider(), S3Provider(), GCSProvider(), SFTPProvider(), HTTPProvider())
    for scheme in provider.schemes
}


def provider_for(scheme: str, *, url: str) -> Provider:
    """The provider of ``scheme``.

    Raises:
        StorageError: no provider knows it (the message lists those that do).
    """
    provider = PROVIDERS.get(scheme.lower())
    if provider is None:
        known = ", ".join(f"{s}://" for s in sorted(PROVIDERS))
        raise StorageError(f"no storage provider for '{scheme}://' (known: {known})", location=url)
    return provider
