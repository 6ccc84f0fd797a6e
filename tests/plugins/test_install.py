"""`hoist plugins install`: a package checked (sha256, every entry) before anything is
written, unpacked into the plugin folder, then found by discovery and the server's
catalog; archives that would escape the target refused."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import write_files
from tests.storage.conftest import (  # the real servers, shared with tests/storage
    file_location,
    location,
    s3_location,
    s3_server,
    sftp_location,
    sshd_server,
)

from hoist.storage import StorageLocation

__all__ = ["file_location", "location", "s3_location", "s3_server", "sftp_location",
           "sshd_server"]  # fmt: skip

from hoist.plugins.discovery import discover_plugins
from hoist.plugins.packaging import (
    ChecksumMismatchError,
    PackagingError,
    PluginExistsError,
    UnsafeArchiveError,
    VersionExistsError,
    build_package,
    default_plugin_folder,
    install_plugin,
    list_published,
    publish_plugin,
)
from hoist.server.catalog import PluginCatalog
from hoist.settings import Settings

CONFIG = """\
name: Greeter
code: greeter
version: 1.2.0
actions:
  greet:
    entrypoint: plugin.greet:GreetAction
"""

ACTION = '''
from pydantic import BaseModel
from hoist import BaseAction


class GreetParams(BaseModel):
    name: str = "world"


class GreetAction(BaseAction[GreetParams]):
    """Say hello."""

    def execute(self):
        return {"greeting": f"hello {self.params.name}"}
'''


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "src" / "greeter", {
        "config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/greet.py": ACTION,
    })  # fmt: skip
    return build_package(root, tmp_path / "dist").archive


def entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*")) if root.exists() else []


def test_install_unpacks_into_the_plugin_folder_and_discovery_finds_it(
    package: Path, tmp_path: Path
) -> None:
    into = tmp_path / "plugins"
    installed = install_plugin(package, into=into)
    assert installed.path == into / "greeter"
    assert (into / "greeter" / "plugin" / "greet.py").read_text() == ACTION
    assert (into / "greeter" / "hoist-manifest.json").is_file()
    assert [p.code for p in discover_plugins(into, entry_points=False)] == ["greeter"]
    catalog = PluginCatalog((into,))
    assert catalog.get("greeter").action_names() == ["greet"]
    assert [p.name for p in into.iterdir()] == ["greeter"]  # no staging folder left


def test_default_folder_is_the_first_plugin_path_else_home_plugins(tmp_path: Path) -> None:
    assert default_plugin_folder(Settings(home=tmp_path)) == tmp_path / "plugins"
    paths = (tmp_path / "a", tmp_path / "b")
    assert default_plugin_folder(Settings(home=tmp_path, plugin_paths=paths)) == paths[0]


def test_install_goes_to_home_plugins_by_default(package: Path, hoist_home: Path) -> None:
    installed = install_plugin(package, settings=Settings(home=hoist_home))
    assert installed.path == hoist_home / "plugins" / "greeter"


def test_checksum_mismatch_is_refused_and_nothing_written(package: Path, tmp_path: Path) -> None:
    checksum = package.with_name(package.name + ".sha256")
    checksum.write_text("0" * 64 + f"  {package.name}\n")
    into = tmp_path / "plugins"
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch"):
        install_plugin(package, into=into)
    assert not into.exists()
    with pytest.raises(ChecksumMismatchError):
        install_plugin(package, into=into, sha256="f" * 64)
    assert not into.exists()


def test_an_archive_without_a_checksum_is_refused(package: Path, tmp_path: Path) -> None:
    package.with_name(package.name + ".sha256").unlink()
    with pytest.raises(PackagingError, match="no checksum"):
        install_plugin(package, into=tmp_path / "plugins")
    digest = hashlib.sha256(package.read_bytes()).hexdigest()
    assert install_plugin(package, into=tmp_path / "plugins", sha256=digest).path.is_dir()


def test_an_installed_plugin_is_replaced_only_with_force(package: Path, tmp_path: Path) -> None:
    into = tmp_path / "plugins"
    install_plugin(package, into=into)
    (into / "greeter" / "local-note.txt").write_text("mine")
    with pytest.raises(PluginExistsError, match="--force"):
        install_plugin(package, into=into)
    assert (into / "greeter" / "local-note.txt").exists()
    install_plugin(package, into=into, force=True)
    assert not (into / "greeter" / "local-note.txt").exists()
    assert sorted(p.name for p in into.iterdir()) == ["greeter"]


# ------------------------------------------------------------------- crafted archives
AddMember = Callable[[tarfile.TarFile], None]


def craft(tmp_path: Path, add: AddMember, *, listed: tuple[str, ...] = ()) -> Path:
    """A package with a good config and manifest plus whatever ``add`` puts in; its
    ``.sha256`` matches, so only the entry checks can refuse it."""
    config = CONFIG.encode()
    files = [{"path": "config.yaml", "size": len(config),
              "sha256": hashlib.sha256(config).hexdigest()}]  # fmt: skip
    files += [{"path": p, "size": 0, "sha256": hashlib.sha256(b"").hexdigest()} for p in listed]
    fields = {"format": 1, "code": "greeter", "name": "Greeter", "version": "1.2.0"}
    manifest = json.dumps({**fields, "requirements": [], "files": files}).encode()
    archive = tmp_path / "crafted" / "greeter-1.2.0.tar.gz"
    archive.parent.mkdir(exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        _add_bytes(tar, "config.yaml", config)
        add(tar)
        _add_bytes(tar, "hoist-manifest.json", manifest)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    archive.with_name(archive.name + ".sha256").write_text(f"{digest}  {archive.name}\n")
    return archive


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _add_link(kind: bytes, name: str, target: str) -> AddMember:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        tar.addfile(info)

    return add


def _add_fifo(tar: tarfile.TarFile) -> None:
    info = tarfile.TarInfo("plugin/pipe")
    info.type = tarfile.FIFOTYPE
    tar.addfile(info)


UNSAFE: dict[str, tuple[AddMember, tuple[str, ...], str]] = {
    "absolute": (partial(_add_bytes, name="/tmp/evil.py", data=b""), ("/tmp/evil.py",),
                 "absolute path"),
    "dotdot": (partial(_add_bytes, name="plugin/../../evil.py", data=b""),
               ("plugin/../../evil.py",), "'..'"),
    "symlink": (_add_link(tarfile.SYMTYPE, "plugin/link", "/etc/passwd"), (), "a link"),
    "hardlink": (_add_link(tarfile.LNKTYPE, "plugin/hard", "config.yaml"), (), "a link"),
    "fifo": (_add_fifo, (), "not a plain file"),
    "drive": (partial(_add_bytes, name="C:/evil.py", data=b""), ("C:/evil.py",),
              "absolute path"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_entries_that_would_leave_the_target_are_refused_and_nothing_written(
    case: str, tmp_path: Path
) -> None:
    add, listed, reason = UNSAFE[case]
    archive = craft(tmp_path, lambda tar: add(tar), listed=listed)
    into = tmp_path / "plugins"
    with pytest.raises(UnsafeArchiveError, match=reason) as caught:
        install_plugin(archive, into=into)
    assert "nothing written" in str(caught.value)
    assert entries(into) == []
    assert not (tmp_path / "evil.py").exists()


def test_a_file_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    archive = craft(tmp_path, partial(_add_bytes, name="plugin/extra.py", data=b"x"))
    with pytest.raises(PackagingError, match="unlisted"):
        install_plugin(archive, into=tmp_path / "plugins")
    assert entries(tmp_path / "plugins") == []


def test_a_file_whose_bytes_differ_from_the_manifest_is_refused(tmp_path: Path) -> None:
    def add(tar: tarfile.TarFile) -> None:
        _add_bytes(tar, "plugin/x.py", b"not empty")  # the manifest says: empty

    archive = craft(tmp_path, add, listed=("plugin/x.py",))
    into = tmp_path / "plugins"
    into.mkdir()
    with pytest.raises(PackagingError, match="does not match the manifest"):
        install_plugin(archive, into=into)
    assert entries(into) == []


def test_not_an_archive_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "greeter-1.2.0.tar.gz"
    bogus.write_bytes(b"not gzip at all")
    digest = hashlib.sha256(bogus.read_bytes()).hexdigest()
    with pytest.raises(PackagingError, match="not a plugin package"):
        install_plugin(bogus, into=tmp_path / "plugins", sha256=digest)
    with pytest.raises(PackagingError, match="no such archive"):
        install_plugin(tmp_path / "missing.tar.gz", into=tmp_path / "plugins")


# ------------------------------------------------------------------------ over HTTP
@pytest.fixture
def web_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    folder = tmp_path / "web"
    folder.mkdir()
    handler = partial(_QuietHandler, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_install_from_a_url_checks_the_checksum_beside_it(
    package: Path, web_folder: tuple[Path, str], tmp_path: Path
) -> None:
    folder, url = web_folder
    for file in (package, package.with_name(package.name + ".sha256")):
        (folder / file.name).write_bytes(file.read_bytes())
    seen: list[int] = []
    installed = install_plugin(f"{url}/{package.name}", into=tmp_path / "plugins",
                               progress=lambda done, total: seen.append(done))  # fmt: skip
    assert installed.path == tmp_path / "plugins" / "greeter" and seen
    # the archive on the server is swapped: its old checksum no longer matches
    (folder / package.name).write_bytes(package.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumMismatchError):
        install_plugin(f"{url}/{package.name}", into=tmp_path / "other")
    assert not (tmp_path / "other").exists()


# ------------------------------------------------- on each storage provider's server
def test_publish_list_and_install_on_a_real_storage_server(
    location: StorageLocation, package: Path, tmp_path: Path
) -> None:
    published = publish_plugin(package, location)
    assert (published.code, published.version, published.complete) == ("greeter", "1.2.0", True)
    with pytest.raises(VersionExistsError, match="--force"):
        publish_plugin(package, location)
    publish_plugin(package, location, force=True)
    assert [(p.code, p.version, p.complete) for p in list_published(location)] == [
        ("greeter", "1.2.0", True)
    ]
    into = tmp_path / "plugins"
    installed = install_plugin("greeter", location=location, into=into)
    assert installed.manifest.version == "1.2.0"
    assert (into / "greeter" / "plugin" / "greet.py").read_text() == ACTION
    # a checksum that names other bytes: refused, nothing written
    location.write_bytes("greeter/1.2.0/greeter-1.2.0.tar.gz.sha256", b"0" * 64 + b"\n")
    with pytest.raises(ChecksumMismatchError):
        install_plugin("greeter@1.2.0", location=location, into=tmp_path / "again")
    assert not (tmp_path / "again").exists()
