"""`hoist plugins package`: reproducible archives, .hoistignore, the manifest, the
checksum; checked with the real `tar` and `sha256sum` too."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pathspec
import pytest
from tests.conftest import write_files

from hoist.plugins.packaging import (
    DEFAULT_IGNORES,
    MANIFEST_NAME,
    IgnoreFileError,
    PackagingError,
    build_package,
)
from hoist.plugins.packaging.archive import ENTRY_MTIME
from hoist.plugins.templates import scaffold_plugin

CONFIG = """\
name: Detector
code: detector
version: 0.3.0
requirements: [numpy>=1.26, pillow]
actions:
  detect:
    entrypoint: plugin.detect:DetectAction
"""

FILES = {
    "config.yaml": CONFIG,
    "plugin/__init__.py": "",
    "plugin/detect.py": "print('detect')\n",
    "plugin/__pycache__/detect.cpython-311.pyc": "compiled",
    "plugin/stale.pyc": "compiled",
    ".git/HEAD": "ref: refs/heads/main\n",
    "weights/best.pt": "big weights",
    "weights/keep.pt": "small weights",
    "notes/todo.txt": "later",
    "run.sh": "#!/bin/sh\necho hi\n",
    ".hoistignore": "# weights stay out, but one\nweights/*\n!weights/keep.pt\nnotes/\n",
}


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "detector", FILES)
    (root / "run.sh").chmod(0o755)
    return root


def members(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.getmembers()


def manifest_of(archive: Path) -> dict[str, Any]:
    with tarfile.open(archive, "r:gz") as tar:
        handle = tar.extractfile(MANIFEST_NAME)
        assert handle is not None
        data: dict[str, Any] = json.loads(handle.read())
        return data


def test_the_archive_holds_what_is_not_ignored_sorted_with_the_manifest_last(
    plugin: Path, tmp_path: Path
) -> None:
    built = build_package(plugin, tmp_path / "out")
    assert built.archive == tmp_path / "out" / "detector-0.3.0.tar.gz"
    names = [m.name for m in members(built.archive)]
    assert names == [
        ".hoistignore",
        "config.yaml",
        "plugin/__init__.py",
        "plugin/detect.py",
        "run.sh",
        "weights/keep.pt",
        MANIFEST_NAME,
    ]
    for member in members(built.archive):
        assert member.isreg()
        assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
        assert member.mtime == ENTRY_MTIME
        assert member.mode == (0o755 if member.name == "run.sh" else 0o644)


def test_the_manifest_lists_files_sizes_sha256_and_requirements(
    plugin: Path, tmp_path: Path
) -> None:
    built = build_package(plugin, tmp_path / "out")
    manifest = manifest_of(built.archive)
    assert (manifest["code"], manifest["version"], manifest["name"]) == (
        "detector",
        "0.3.0",
        "Detector",
    )
    assert manifest["requirements"] == ["numpy>=1.26", "pillow"]
    detect = next(f for f in manifest["files"] if f["path"] == "plugin/detect.py")
    data = (plugin / "plugin" / "detect.py").read_bytes()
    assert detect == {"path": "plugin/detect.py", "size": len(data),
                      "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip
    assert built.manifest.files[0].path == ".hoistignore"


def test_the_same_files_give_the_same_bytes(plugin: Path, tmp_path: Path) -> None:
    first = build_package(plugin, tmp_path / "a").archive.read_bytes()
    # elsewhere, later, with other times and permission bits, and a new cache file
    copy = tmp_path / "elsewhere" / "detector"
    shutil.copytree(plugin, copy)
    os.utime(copy / "config.yaml", (1_000_000_000, 1_000_000_000))
    (copy / "plugin" / "detect.py").chmod(0o600)
    (copy / "plugin" / "__pycache__" / "other.pyc").write_text("new cache")
    second = build_package(copy, tmp_path / "b").archive.read_bytes()
    assert first == second
    # the gzip header holds no time and no file name
    assert first[4:8] == b"\0\0\0\0"
    assert not first[3] & 0x08
    with gzip.open(tmp_path / "a" / "detector-0.3.0.tar.gz") as fh:
        assert len(fh.read()) % tarfile.RECORDSIZE == 0
    # a changed file changes the bytes
    (copy / "plugin" / "detect.py").write_text("print('other')\n")
    assert build_package(copy, tmp_path / "c").archive.read_bytes() != first


def test_real_tar_and_sha256sum_accept_it(plugin: Path, tmp_path: Path) -> None:
    built = build_package(plugin, tmp_path / "out")
    listed = subprocess.run(["tar", "tzf", str(built.archive)], capture_output=True,
                            text=True, check=True).stdout.split()  # fmt: skip
    assert listed == [m.name for m in members(built.archive)]
    checked = subprocess.run(["sha256sum", "-c", built.checksum_file.name], cwd=tmp_path / "out",
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert built.checksum_file.read_text() == f"{built.sha256}  detector-0.3.0.tar.gz\n"


def test_default_output_folder_is_left_out_of_the_next_package(plugin: Path) -> None:
    first = build_package(plugin)
    assert first.archive == plugin.resolve() / "dist" / "detector-0.3.0.tar.gz"
    second = build_package(plugin)
    assert "dist/detector-0.3.0.tar.gz" not in [m.name for m in members(second.archive)]
    assert first.sha256 == second.sha256


def test_an_output_folder_inside_the_plugin_is_left_out(plugin: Path) -> None:
    build_package(plugin, plugin / "packages")
    again = build_package(plugin, plugin / "packages")
    assert not any(m.name.startswith("packages/") for m in members(again.archive))


def test_the_plugin_folder_itself_as_output_leaves_its_archive_out(plugin: Path) -> None:
    first = build_package(plugin, plugin)
    second = build_package(plugin, plugin)
    assert first.sha256 == second.sha256
    assert not any(m.name.endswith((".tar.gz", ".sha256")) for m in members(second.archive))


def test_defaults_cover_caches_and_vcs() -> None:
    assert {"__pycache__/", "*.py[cod]", ".git/"} <= set(DEFAULT_IGNORES)


def test_long_and_non_ascii_names_round_trip(plugin: Path, tmp_path: Path) -> None:
    long_name = "plugin/" + "deep/" * 25 + "módulo.py"
    write_files(plugin, {long_name: "x = 1\n"})
    built = build_package(plugin, tmp_path / "out")
    with tarfile.open(built.archive, "r:gz") as tar:
        handle = tar.extractfile(long_name)
        assert handle is not None and handle.read() == b"x = 1\n"


def test_a_broken_hoistignore_names_its_file_and_line(plugin: Path, tmp_path: Path) -> None:
    (plugin / ".hoistignore").write_text("*.log\n\\\n")
    with pytest.raises(IgnoreFileError) as caught:
        build_package(plugin, tmp_path / "out")
    assert caught.value.line == 2
    assert caught.value.path.endswith(".hoistignore")
    assert "not a valid gitignore pattern" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_symlink_is_refused_unless_ignored(plugin: Path, tmp_path: Path) -> None:
    (plugin / "plugin" / "link.py").symlink_to(plugin / "plugin" / "detect.py")
    with pytest.raises(PackagingError, match=r"plugin/link.py is a symlink"):
        build_package(plugin, tmp_path / "out")
    (plugin / ".hoistignore").write_text("link.py\n")
    assert build_package(plugin, tmp_path / "out").archive.exists()


def test_a_folder_without_config_and_a_version_that_cannot_name_a_file(
    plugin: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PackagingError, match=r"no config\.yaml"):
        build_package(empty)
    (plugin / "config.yaml").write_text(CONFIG.replace("0.3.0", "0.3/../../x"))
    with pytest.raises(PackagingError, match="version"):
        build_package(plugin, tmp_path / "out")


def test_hoist_new_writes_a_hoistignore_and_packages_right_away(tmp_path: Path) -> None:
    root = scaffold_plugin(tmp_path, "shapes", category="train")
    assert (root / ".hoistignore").is_file()
    assert ".env" in (root / ".hoistignore").read_text()
    (root / ".env").write_text("TOKEN=secret\n")
    built = build_package(root)
    names = [m.name for m in members(built.archive)]
    assert ".env" not in names and "plugin/train.py" in names and "config.yaml" in names


def test_cli_package(hoist: Any, plugin: Path, tmp_path: Path) -> None:
    result = hoist("plugins", "package", str(plugin), "--out", str(tmp_path / "out"))
    assert result.code == 0, result.err
    assert "detector-0.3.0.tar.gz" in result.out and "6 files" in result.out
    (plugin / ".hoistignore").write_text("ok/\n!\n")
    broken = hoist("plugins", "package", str(plugin))
    assert broken.code == 2
    assert ".hoistignore:2" in broken.err and "not a valid gitignore pattern" in broken.err
    missing = hoist("plugins", "package", str(tmp_path / "nowhere"))
    assert missing.code == 2 and "does not exist" in missing.err


def test_the_fast_matcher_agrees_with_pathspec() -> None:
    from hoist.plugins.packaging.ignore import _Matcher

    lines = [*DEFAULT_IGNORES, "*.log", "!keep.log", "build/", "docs/**/draft*", "/top.txt",
             "a?c", "[xy]z"]  # fmt: skip
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    paths = ["x.log", "sub/keep.log", "keep.log", "build/", "src/build/", "docs/a/b/draft1.md",
             "docs/draft.md", "top.txt", "sub/top.txt", "abc", "sub/axc", "yz", "zz",
             "plugin/main.py", "plugin/__pycache__/", "m.pyc", "dist/", "sub/dist/"]  # fmt: skip
    fast = _Matcher(spec)
    assert fast.any_pattern is not None
    assert [fast(p) for p in paths] == [bool(spec.match_file(p)) for p in paths]


def test_a_package_of_many_compressed_blocks_round_trips(tmp_path: Path) -> None:
    # ~5 MiB in files of a few sizes: several blocks deflated apart, one large file
    # streamed; the bytes are the same on a second build and gzip/tar read them back
    rng = random.Random(7)
    files = {f"data/part_{i:03d}.txt": " ".join(str(rng.random()) for _ in range(2000))
             for i in range(100)}  # fmt: skip
    root = write_files(tmp_path / "big", {"config.yaml": CONFIG, **files})
    (root / "weights.bin").write_bytes(rng.randbytes(3 * 1024 * 1024))
    first = build_package(root, tmp_path / "a")
    second = build_package(root, tmp_path / "b")
    assert first.archive.read_bytes() == second.archive.read_bytes()
    subprocess.run(["gzip", "-t", str(first.archive)], check=True)
    with tarfile.open(first.archive, "r:gz") as tar:
        for name, text in files.items():
            handle = tar.extractfile(name)
            assert handle is not None and handle.read() == text.encode()
        handle = tar.extractfile("weights.bin")
        assert handle is not None
        assert handle.read() == (root / "weights.bin").read_bytes()
