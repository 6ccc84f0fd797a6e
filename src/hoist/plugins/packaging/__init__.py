"""Plugin packages: build a reproducible archive of a plugin folder, publish it to a
storage location, install it from a file, a URL or a location (checked and unpacked
safely).

::

    from hoist.plugins.packaging import build_package, install_plugin, publish_plugin

    built = build_package("plugins/detector")           # dist/detector-0.3.0.tar.gz
    publish_plugin("plugins/detector", to="models")     # models:detector/0.3.0/...
    install_plugin("models:detector@0.3.0")             # <plugin folder>/detector

The modules: :mod:`.ignore` (which files), :mod:`.manifest`, :mod:`.archive` (build),
:mod:`.contents` (entries checked), :mod:`.remote` (listing and fetching),
:mod:`.publish`, :mod:`.install`, :mod:`.materialize` (a package as code to run: Ray
job mode, deployments); their errors in :mod:`.errors`.
"""

from __future__ import annotations

from hoist.plugins.packaging.archive import PackageResult, build_package
from hoist.plugins.packaging.contents import read_archive
from hoist.plugins.packaging.errors import (
    IgnoreFileError,
    PackagingError,
    PluginExistsError,
    UnsafeArchiveError,
    VersionExistsError,
)
from hoist.plugins.packaging.ignore import DEFAULT_IGNORES, IGNORE_FILE
from hoist.plugins.packaging.install import InstalledPlugin, default_plugin_folder, install_plugin
from hoist.plugins.packaging.manifest import MANIFEST_NAME, FileRecord, Manifest
from hoist.plugins.packaging.materialize import is_package_source, materialize
from hoist.plugins.packaging.publish import publish_plugin
from hoist.plugins.packaging.remote import PublishedPackage, list_published
from hoist.storage.download import ChecksumMismatchError

__all__ = [
    "DEFAULT_IGNORES",
    "IGNORE_FILE",
    "MANIFEST_NAME",
    "ChecksumMismatchError",
    "FileRecord",
    "IgnoreFileError",
    "InstalledPlugin",
    "Manifest",
    "PackageResult",
    "PackagingError",
    "PluginExistsError",
    "PublishedPackage",
    "UnsafeArchiveError",
    "VersionExistsError",
    "build_package",
    "default_plugin_folder",
    "install_plugin",
    "is_package_source",
    "list_published",
    "materialize",
    "publish_plugin",
    "read_archive",
]
