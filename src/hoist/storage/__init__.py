"""Storage locations on fsspec (local disk, S3, GCS, SFTP, HTTP): named once, used by
actions, artifacts and plugin publishing. A leaf: it knows files, not runs.

::

    from hoist.storage import open_location

    models = open_location("models")            # a name from the storage config
    models.upload(Path("best.pt"), "yolo/best.pt", progress=print)
    models.checksum("yolo/best.pt")              # sha256, streamed
    open_location("s3://bucket/data").list("images", recursive=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hoist._lazy import lazy_getattr

if TYPE_CHECKING:
    from hoist.storage.config import LocationConfig, StorageConfig, load_storage_config
    from hoist.storage.entries import Entry, Progress
    from hoist.storage.location import StorageLocation
    from hoist.storage.resolve import open_location

__all__ = [
    "Entry",
    "LocationConfig",
    "Progress",
    "StorageConfig",
    "StorageLocation",
    "load_storage_config",
    "open_location",
]

_EXPORTS = {
    "Entry": "hoist.storage.entries",
    "Progress": "hoist.storage.entries",
    "LocationConfig": "hoist.storage.config",
    "StorageConfig": "hoist.storage.config",
    "load_storage_config": "hoist.storage.config",
    "StorageLocation": "hoist.storage.location",
    "open_location": "hoist.storage.resolve",
}

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
