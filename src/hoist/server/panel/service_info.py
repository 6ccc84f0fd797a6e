"""What the panel shows of the service a ``service`` run executed: the endpoint's
metadata its launch recorded in ``run.meta["service"]``, cleaned for display (every
value text, tags a list, the description rendered and sanitised), so templates never
meet a value of a shape they do not expect."""

from __future__ import annotations

from typing import Any

from hoist.runs.models import Run, RunKind
from hoist.server.panel.outputs import markdown_html

__all__ = ["service_info"]

_TEXT_FIELDS = ("name", "path", "summary", "author", "version", "organization", "entry_point")


def service_info(run: Run) -> dict[str, Any] | None:
    """The service of ``run`` as ``{name, path, summary, author, version, organization,
    entry_point, tags, description_html}`` (missing values are empty), or ``None`` for a
    run that is not a service run."""
    if run.kind is not RunKind.SERVICE:
        return None
    meta = run.meta.get("service")
    meta = meta if isinstance(meta, dict) else {}
    info: dict[str, Any] = {
        key: "" if meta.get(key) is None else str(meta[key]) for key in _TEXT_FIELDS
    }
    info["name"] = info["name"] or run.plugin or ""
    tags = meta.get("tags")
    info["tags"] = [str(t) for t in tags] if isinstance(tags, list | tuple) else []
    description = meta.get("description")
    info["description_html"] = markdown_html(str(description)) if description else ""
    return info
