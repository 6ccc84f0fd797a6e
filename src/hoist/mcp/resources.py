"""MCP resources: runs, their events and their files, and plugins' configs and READMEs.

URIs:

- ``hoist://runs/{run_id}``: the run (JSON: status, params with secrets masked, result
  or error, and its files, each with its own URI and MIME type);
- ``hoist://runs/{run_id}/events``: its first 1,000 events with their summaries (JSON);
- ``hoist://runs/{run_id}/files/{path}``: one file of the run's folder (``artifacts/...``,
  or where the run published them), as text or as a base64 blob by its MIME type;
- ``hoist://plugins/{code}/config.yaml`` and ``hoist://plugins/{code}/README.md``.

Listing offers the newest runs and every exposed plugin's files; the templates reach
the rest.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import mcp_types as types

from hoist.errors import NotFoundError, StorageNotFoundError, UserInputError
from hoist.mcp.access import Caller, Exposure
from hoist.mcp.tools.runs import run_view
from hoist.runs.artifacts import find_published, list_run_files, safe_path
from hoist.runs.models import Run
from hoist.runs.reader import RunFilter
from hoist.server.state import ServerState

__all__ = ["RESOURCE_TEMPLATES", "list_resources", "read_resource"]

SCHEME = "hoist://"
_RECENT = 20
_EVENTS = 1000
_MAX_BYTES = 8 * 1024 * 1024  # a resource read is one message: larger files are refused
_TEXT_TYPES = ("application/json", "application/yaml", "application/xml", "application/x-yaml")
_PLUGIN_FILES = {"config.yaml": "application/yaml", "README.md": "text/markdown"}

RESOURCE_TEMPLATES = [
    types.ResourceTemplate(
        name="run",
        uri_template="hoist://runs/{run_id}",
        mime_type="application/json",
        description="A run: status, params (secrets masked), result or error, its files.",
    ),
    types.ResourceTemplate(
        name="run-events",
        uri_template="hoist://runs/{run_id}/events",
        mime_type="application/json",
        description="A run's events with their summaries.",
    ),
    types.ResourceTemplate(
        name="run-file",
        uri_template="hoist://runs/{run_id}/files/{path}",
        description="A file of a run (its artifacts), with its MIME type.",
    ),
    types.ResourceTemplate(
        name="plugin-config",
        uri_template="hoist://plugins/{code}/config.yaml",
        mime_type="application/yaml",
        description="A plugin's config.yaml.",
    ),
    types.ResourceTemplate(
        name="plugin-readme",
        uri_template="hoist://plugins/{code}/README.md",
        mime_type="text/markdown",
        description="A plugin's README.",
    ),
]


class ResourceNotFoundError(NotFoundError):
    """No resource at a URI (or not one agents may read)."""

    kind = "resource"

    def __init__(self, uri: str) -> None:
        super().__init__(uri)


def list_resources(state: ServerState, exposure: Exposure) -> list[types.Resource]:
    """The newest runs agents may read, and each exposed plugin's config and README."""
    found: list[types.Resource] = []
    for run in state.store.list_runs(RunFilter(limit=_RECENT * 2)):
        if exposure.allows(run.plugin, run.action) and len(found) < _RECENT:
            what = ".".join(p for p in (run.plugin, run.action or run.meta.get("pipeline")) if p)
            found.append(
                types.Resource(
                    uri=f"{SCHEME}runs/{run.id}",
                    name=f"run {run.id}",
                    title=f"{what or run.kind} ({run.status})",
                    mime_type="application/json",
                )
            )
    for plugin in state.catalog.plugins():
        if not exposure.plugin(plugin.code):
            continue
        for name, mime in _PLUGIN_FILES.items():
            if _plugin_file(plugin.root, plugin.config_path, name) is not None:
                found.append(
                    types.Resource(
                        uri=f"{SCHEME}plugins/{plugin.code}/{name}",
                        name=f"{plugin.code} {name}",
                        mime_type=mime,
                    )
                )
    return found


def read_resource(
    state: ServerState, exposure: Exposure, caller: Caller, uri: str
) -> list[types.TextResourceContents | types.BlobResourceContents]:
    """The contents at ``uri``.

    Raises:
        ResourceNotFoundError: no such resource, or one agents may not read.
        UserInputError: a file path that leaves the run's folder, or a file too large.
    """
    if not uri.startswith(SCHEME):
        raise ResourceNotFoundError(uri)
    parts = uri[len(SCHEME) :].split("/", 3)
    if parts[0] == "runs" and len(parts) >= 2:
        run = _exposed_run(state, exposure, parts[1], uri)
        if len(parts) == 2:
            return [_json(uri, _run_document(state, run))]
        if parts[2:] == ["events"]:
            events = state.store.events(run.id, 0, _EVENTS)
            shown = [{**e.to_dict(), "summary": e.summary()} for e in events]
            return [_json(uri, {"run_id": run.id, "events": shown})]
        if len(parts) == 4 and parts[2] == "files":
            return [_run_file(state, run, unquote(parts[3]), uri)]
    if parts[0] == "plugins" and len(parts) == 3 and parts[2] in _PLUGIN_FILES:
        if not exposure.plugin(parts[1]):
            raise ResourceNotFoundError(uri)
        try:
            plugin = state.catalog.get(parts[1])
        except NotFoundError:
            raise ResourceNotFoundError(uri) from None
        path = _plugin_file(plugin.root, plugin.config_path, parts[2])
        if path is None:
            raise ResourceNotFoundError(uri)
        text = path.read_text(encoding="utf-8", errors="replace")
        return [types.TextResourceContents(uri=uri, mime_type=_PLUGIN_FILES[parts[2]], text=text)]
    raise ResourceNotFoundError(uri)


def _exposed_run(state: ServerState, exposure: Exposure, run_id: str, uri: str) -> Run:
    try:
        run = state.store.get_run(run_id)
    except NotFoundError:
        raise ResourceNotFoundError(uri) from None
    if not exposure.allows(run.plugin, run.action):
        raise ResourceNotFoundError(uri)
    return run


def _run_document(state: ServerState, run: Run) -> dict[str, Any]:
    files = list_run_files(
        state.runtime.runs_dir, run.id, store=state.store, settings=state.runtime.settings
    )
    return {
        **run_view(run),
        "events": f"{SCHEME}runs/{run.id}/events",
        "files": [
            {
                "path": path,
                "size": size,
                "mime_type": _mime(path),
                "uri": f"{SCHEME}runs/{run.id}/files/{quote(path)}",
            }
            for path, size in files
        ],
    }


def _run_file(
    state: ServerState, run: Run, path: str, uri: str
) -> types.TextResourceContents | types.BlobResourceContents:
    try:
        safe_path(path)
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    base = (state.runtime.runs_dir / run.id).resolve()
    local = (base / path).resolve()
    if local.is_relative_to(base) and local.is_file():
        if local.stat().st_size > _MAX_BYTES:
            raise UserInputError(f"{path} is larger than {_MAX_BYTES} bytes; download it instead")
        data = local.read_bytes()
    else:
        remote = find_published(state.store, run.id, state.runtime.runs_dir, state.runtime.settings)
        if remote is None:
            raise ResourceNotFoundError(uri)
        try:
            with remote.open(run.id, path) as source:
                data = source.read(_MAX_BYTES + 1)
        except (FileNotFoundError, NotFoundError, StorageNotFoundError):
            raise ResourceNotFoundError(uri) from None
        if len(data) > _MAX_BYTES:
            raise UserInputError(f"{path} is larger than {_MAX_BYTES} bytes; download it instead")
    mime = _mime(path)
    if mime.startswith("text/") or mime in _TEXT_TYPES:
        try:
            return types.TextResourceContents(uri=uri, mime_type=mime, text=data.decode())
        except UnicodeDecodeError:
            pass
    blob = base64.b64encode(data).decode()
    return types.BlobResourceContents(uri=uri, mime_type=mime, blob=blob)


def _mime(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def _json(uri: str, data: Any) -> types.TextResourceContents:
    text = json.dumps(data, default=str, ensure_ascii=False)
    return types.TextResourceContents(uri=uri, mime_type="application/json", text=text)


def _plugin_file(root: Path | None, config_path: Path | None, name: str) -> Path | None:
    if name == "config.yaml":
        return config_path if config_path is not None and config_path.is_file() else None
    if root is None:
        return None
    found = root / name
    return found if found.is_file() else None
