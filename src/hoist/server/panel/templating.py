"""Jinja2 for the panel: one environment, autoescape on for every template, and the
filters the pages share. Every page response carries a strict Content-Security-Policy:
scripts and styles come only from the panel's static files, never inline."""

from __future__ import annotations

import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hoist._version import __version__
from hoist.runs.short_ids import short_id
from hoist.server.accounts import Role
from hoist.server.auth import Principal
from hoist.server.panel.service_info import service_info

__all__ = ["CSP", "STATIC_DIR", "TEMPLATES_DIR", "environment", "render", "render_page"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _clock(ts: float | None) -> str:
    if ts is None:
        return ""
    return time.strftime("%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def _when(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _iso(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The panel's Jinja2 environment (built once; autoescape on for every template)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(
        clock=_clock, when=_when, iso=_iso, duration=_duration, pretty=_pretty, size=_size
    )
    env.filters["short_id"] = short_id  # a run id as people see it (hoist.runs.short_ids)
    env.globals["version"] = __version__
    env.globals["service_info"] = service_info
    return env


def render(name: str, **context: Any) -> str:
    """Render template ``name`` (a fragment or a whole page) to a string."""
    return environment().get_template(name).render(**context)


def render_page(
    request: Request,
    name: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page: template ``name`` with the caller's account, role and CSRF token.

    Args:
        request: the request (its path marks the current navigation entry).
        name: the template.
        principal: the logged-in caller (``None`` on the login page).
        status_code: the response status.
        **context: the template's own values.
    """
    user = principal.user if principal is not None else None
    html = render(
        name,
        user=user,
        csrf_token=principal.csrf_token if principal is not None else None,
        can_operate=user is not None and user.role.allows(Role.OPERATOR),
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code, headers=page_headers())


def page_headers() -> dict[str, str]:
    """Headers of every panel page: the CSP, and no caching of personal pages."""
    return {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
