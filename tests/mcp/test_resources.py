"""Resources over both transports: a run (status, result, its files with MIME types), its
events, its files' bytes, and plugins' configs."""

from __future__ import annotations

import base64

import pytest

from tests.mcp.conftest import PLUGIN_CONFIG, need_sdk
from tests.mcp.session import McpSession

need_sdk()


def test_a_run_resource_lists_its_files_and_each_reads_back(mcp: McpSession) -> None:
    run = mcp.finished("mcptest__report", {"title": "monthly"})
    assert run["status"] == "succeeded"
    uri = f"hoist://runs/{run['id']}"
    assert run["resource"] == uri
    document = mcp.read_json(uri)
    assert document["id"] == run["id"] and document["status"] == "succeeded"
    assert document["result"] == {"files": 4}
    assert document["params"] == {"title": "monthly"}
    assert document["events"] == f"{uri}/events"
    files = {f["path"]: f for f in document["files"]}
    assert {p: f["mime_type"] for p, f in files.items()} == {
        "artifacts/report.txt": "text/plain",
        "artifacts/summary.json": "application/json",
        "artifacts/data.bin": "application/octet-stream",
        "artifacts/notes #1 ü.md": "text/markdown",
    }
    assert files["artifacts/data.bin"]["size"] == 256

    (text,) = mcp.read(files["artifacts/report.txt"]["uri"])
    assert text.mime_type == "text/plain" and text.text == "report monthly\n"
    (summary,) = mcp.read(files["artifacts/summary.json"]["uri"])
    assert summary.mime_type == "application/json" and summary.text == '{"title": "monthly"}'
    (blob,) = mcp.read(files["artifacts/data.bin"]["uri"])
    assert blob.mime_type == "application/octet-stream"
    assert base64.b64decode(blob.blob) == bytes(range(256))
    notes_uri = files["artifacts/notes #1 ü.md"]["uri"]
    assert "#" not in notes_uri and " " not in notes_uri  # quoted in the URI
    (notes,) = mcp.read(notes_uri)
    assert notes.mime_type == "text/markdown" and notes.text == "# notes ü\n"

    events = mcp.read_json(document["events"])
    assert events["run_id"] == run["id"]
    kinds = [e["type"] for e in events["events"]]
    assert "artifact" in kinds and kinds.count("status") >= 2
    assert all(e["summary"] for e in events["events"])
    assert uri in mcp.resources()


def test_a_file_outside_the_run_or_an_unknown_run_is_refused(mcp: McpSession) -> None:
    from mcp.shared.exceptions import MCPError

    run = mcp.finished("mcptest__report", {})
    base = f"hoist://runs/{run['id']}/files/"
    for path in ("..%2F..%2Fhoist.db", "artifacts/missing.txt", "%2Fetc%2Fpasswd"):
        with pytest.raises(MCPError):
            mcp.read(base + path)
    with pytest.raises(MCPError) as unknown:
        mcp.read("hoist://runs/0123456789abcdef01234567")
    assert str(unknown.value) == "unknown resource 'hoist://runs/0123456789abcdef01234567'"
    with pytest.raises(MCPError):
        mcp.read("https://example.com/")
    assert mcp.read_json(f"hoist://runs/{run['id']}")["id"] == run["id"]  # still answering


def test_plugin_config_and_readme_resources(mcp: McpSession) -> None:
    uris = mcp.resources()
    assert "hoist://plugins/mcptest/config.yaml" in uris
    assert "hoist://plugins/text_stats/README.md" in uris
    assert "hoist://plugins/mcptest/README.md" not in uris  # it has none
    (config,) = mcp.read("hoist://plugins/mcptest/config.yaml")
    assert config.mime_type == "application/yaml" and config.text == PLUGIN_CONFIG
    (readme,) = mcp.read("hoist://plugins/text_stats/README.md")
    assert readme.mime_type == "text/markdown" and readme.text.strip()
    templates = mcp.run(lambda c: c.list_resource_templates()).resource_templates
    assert "hoist://runs/{run_id}/files/{path}" in {t.uri_template for t in templates}
