"""`hoist plugins package|publish|install|list --remote` end to end, on a named storage
location (a folder, configured in <home>/storage.yaml) and on a URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hoist.plugins.templates import scaffold_plugin


@pytest.fixture
def shelf(hoist_home: Path, tmp_path: Path) -> Path:
    """A storage location named ``shelf``: a local folder."""
    folder = tmp_path / "shelf"
    hoist_home.mkdir(parents=True, exist_ok=True)
    (hoist_home / "storage.yaml").write_text(f"storage:\n  shelf:\n    url: {folder.as_uri()}\n")
    return folder


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    return scaffold_plugin(tmp_path / "work", "greeter")


def set_version(plugin: Path, version: str) -> None:
    config = plugin / "config.yaml"
    config.write_text(config.read_text().replace("version: 0.1.0", f"version: {version}"))


def test_publish_list_install_and_discover(
    hoist: Any, plugin: Path, shelf: Path, hoist_home: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    published = hoist("plugins", "publish", str(plugin), "--to", "shelf")
    assert published.code == 0, published.err
    assert "published greeter 0.1.0" in published.out
    assert "hoist plugins install shelf:greeter@0.1.0" in published.out
    archive = shelf / "greeter" / "0.1.0" / "greeter-0.1.0.tar.gz"
    assert archive.is_file() and Path(f"{archive}.sha256").is_file()

    set_version(plugin, "0.10.0")
    assert hoist("plugins", "publish", str(plugin), "--to", "shelf").code == 0
    listed = hoist("plugins", "list", "--remote", "shelf", "--json")
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert [(r["code"], r["version"], r["complete"]) for r in rows] == [
        ("greeter", "0.1.0", True),
        ("greeter", "0.10.0", True),
    ]
    table = hoist("plugins", "list", "--remote", "shelf")
    assert "greeter" in table.out and "0.10.0" in table.out

    installed = hoist("plugins", "install", "shelf:greeter")  # the newest
    assert installed.code == 0, installed.err
    target = hoist_home / "plugins" / "greeter"
    assert "installed greeter 0.10.0" in installed.out
    assert (target / "plugin" / "main.py").is_file()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = hoist("plugins", "list", "--json")
    assert found.code == 0, found.err
    assert [p["code"] for p in json.loads(found.out) if p["path"]] == ["greeter"]
    shown = hoist("plugins", "show", str(target))
    assert shown.code == 0 and "main" in shown.out


def test_publishing_an_existing_version_is_refused_unless_forced(
    hoist: Any, plugin: Path, shelf: Path
) -> None:
    assert hoist("plugins", "publish", str(plugin), "--to", "shelf").code == 0
    archive = shelf / "greeter" / "0.1.0" / "greeter-0.1.0.tar.gz"
    before = archive.read_bytes()
    (plugin / "plugin" / "main.py").write_text("# changed\n")
    again = hoist("plugins", "publish", str(plugin), "--to", "shelf")
    assert again.code == 2
    assert "greeter 0.1.0 is published at shelf already" in again.err
    assert "--force" in again.err
    assert archive.read_bytes() == before
    forced = hoist("plugins", "publish", str(plugin), "--to", "shelf", "--force")
    assert forced.code == 0, forced.err
    assert archive.read_bytes() != before


def test_publish_an_archive_to_a_url_and_install_it_from_there(
    hoist: Any, plugin: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert hoist("plugins", "package", str(plugin), "--out", str(out)).code == 0
    url = (tmp_path / "by-url").as_uri()
    published = hoist("plugins", "publish", str(out / "greeter-0.1.0.tar.gz"), "--to", url)
    assert published.code == 0, published.err
    archive_url = f"{url}/greeter/0.1.0/greeter-0.1.0.tar.gz"
    assert f"hoist plugins install {archive_url}" in published.out
    into = tmp_path / "plugins"
    installed = hoist("plugins", "install", archive_url, "--into", str(into))
    assert installed.code == 0, installed.err
    assert (into / "greeter" / "config.yaml").is_file()


def test_a_tampered_archive_at_the_location_is_refused(
    hoist: Any, plugin: Path, shelf: Path, tmp_path: Path
) -> None:
    assert hoist("plugins", "publish", str(plugin), "--to", "shelf").code == 0
    archive = shelf / "greeter" / "0.1.0" / "greeter-0.1.0.tar.gz"
    archive.write_bytes(archive.read_bytes()[:-4] + b"\0\0\0\0")
    into = tmp_path / "plugins"
    refused = hoist("plugins", "install", "shelf:greeter@0.1.0", "--into", str(into))
    assert refused.code == 2
    assert "sha256 mismatch" in refused.err and "nothing kept" in refused.err
    assert not into.exists()


def test_bad_input_exits_2_with_a_clear_message(
    hoist: Any, plugin: Path, shelf: Path, tmp_path: Path
) -> None:
    assert hoist("plugins", "publish", str(plugin), "--to", "shelf").code == 0
    missing = hoist("plugins", "install", "shelf:greeter@9.9.9")
    assert missing.code == 2 and "published: 0.1.0" in missing.err
    nothing = hoist("plugins", "install", "shelf:nobody")
    assert nothing.code == 2 and "no version of nobody" in nothing.err
    bad_sha = hoist("plugins", "install", "shelf:greeter", "--sha256", "xyz")
    assert bad_sha.code == 2 and "64 hex digits" in bad_sha.err
    wrong_sha = hoist("plugins", "install", "shelf:greeter", "--sha256", "a" * 64,
                      "--into", str(tmp_path / "p"))  # fmt: skip
    assert wrong_sha.code == 2 and "sha256 mismatch" in wrong_sha.err
    assert not (tmp_path / "p").exists()
    neither = hoist("plugins", "install", str(tmp_path / "nothing-here.tar.gz"))
    assert neither.code == 2 and "no such archive" in neither.err
    both = hoist("plugins", "list", str(plugin), "--remote", "shelf")
    assert both.code == 2 and "not both" in both.err
    empty = hoist("plugins", "list", "--remote", (tmp_path / "empty").as_uri())
    assert empty.code == 0 and "nothing published" in empty.out
    no_to = hoist("plugins", "publish", str(plugin))
    assert no_to.code == 2 and "--to" in no_to.err
