"""``hoist mcp config``: the ``mcpServers`` JSON a client needs, for stdio (command, args,
env) or a server (URL, a header to fill in); never a secret; and what it prints works."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import need_sdk
from tests.mcp.session import McpSession, stdio_command

need_sdk()

SECRETS = {
    "HOIST_SECRET_KEY": "secret-key-value-1",
    "HOIST_TOKEN": "token-value-2",
    "HOIST_ADMIN_PASSWORD": "admin-password-value-3",
    "HOIST_SERVICE_SECRET": "service-secret-value-4",
    "HOIST_LLM_API_KEY": "llm-key-value-5",
}


@pytest.fixture
def secrets_set(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every secret setting set in the environment ``hoist`` runs with."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


def _entry(printed: Any, name: str = "hoist") -> dict[str, Any]:
    assert list(printed) == ["mcpServers"]
    assert list(printed["mcpServers"]) == [name]
    entry: dict[str, Any] = printed["mcpServers"][name]
    return entry


def test_stdio_config_names_the_command_and_environment(
    hoist: Any, hoist_home: Path, plugin_paths: tuple[Path, ...], secrets_set: dict[str, str]
) -> None:
    args = [a for p in plugin_paths for a in ("--plugins", str(p))]
    result = hoist("mcp", "config", *args, "--expose", "mcptest.*", "--expose", "text_stats")
    assert result.code == 0, result.err
    entry = _entry(result.json())
    assert entry["command"] == sys.executable
    assert entry["args"] == ["-m", "hoist.mcp"]
    assert entry["env"] == {
        "HOIST_HOME": str(hoist_home),
        "HOIST_PLUGIN_PATHS": os.pathsep.join(str(p.resolve()) for p in plugin_paths),
        "HOIST_MCP_EXPOSE": "mcptest.*,text_stats",
    }
    for value in secrets_set.values():
        assert value not in result.out
    named = hoist("mcp", "config", "--name", "hoist-dev")
    assert _entry(named.json(), "hoist-dev")["env"]["HOIST_HOME"] == str(hoist_home)


def test_stdio_config_hides_the_database_password(
    hoist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://hoist:db-password-value-6@db.example:5432/hoist"
    monkeypatch.setenv("HOIST_DATABASE_URL", url)
    result = hoist("mcp", "config")
    assert result.code == 0, result.err
    env = _entry(result.json())["env"]
    assert env["HOIST_DATABASE_URL"] == "postgresql+psycopg://hoist:***@db.example:5432/hoist"
    assert "db-password-value-6" not in result.out


def test_server_config_names_the_url_and_a_token_header(
    hoist: Any, secrets_set: dict[str, str]
) -> None:
    result = hoist("mcp", "config", "--server", "https://hoist.example.com:8465/")
    assert result.code == 0, result.err
    entry = _entry(result.json())
    assert entry["url"] == "https://hoist.example.com:8465/mcp"
    assert entry["type"] == "http"
    (header,) = entry["headers"].items()
    assert header[0] == "Authorization" and header[1].startswith("Bearer <")
    assert "command" not in entry and "env" not in entry
    for value in secrets_set.values():
        assert value not in result.out


def test_a_client_started_from_the_printed_config_works(
    hoist: Any, plugin_paths: tuple[Path, ...], tmp_path: Path
) -> None:
    result = hoist("mcp", "config", "--plugins", str(plugin_paths[0]))
    entry = _entry(result.json())
    log = tmp_path / "server.log"
    connect = stdio_command(entry["command"], entry["args"], entry["env"], log, tmp_path)
    with McpSession(connect, "stdio (from the config)", log) as session:
        tools = session.tools()
        assert "mcptest__count" in tools and "text_stats__word_count" not in tools
        run = session.finished("mcptest__count", {"word": "cfg", "times": 1})
        assert run["result"] == {"text": "cfg", "length": 3}


def test_stdio_config_paths_are_absolute(
    hoist: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client starts the server from a folder of its own: relative paths given here
    are written as the absolute ones they mean here."""
    (tmp_path / "plugins").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOIST_HOME", "relative-home")
    monkeypatch.setenv("HOIST_STORAGE_CONFIG", "conf/storage.yaml")
    result = hoist("mcp", "config", "--plugins", "plugins")
    assert result.code == 0, result.err
    env = _entry(result.json())["env"]
    assert env["HOIST_HOME"] == str(tmp_path / "relative-home")
    assert env["HOIST_PLUGIN_PATHS"] == str(tmp_path / "plugins")
    assert env["HOIST_STORAGE_CONFIG"] == str(tmp_path / "conf" / "storage.yaml")
