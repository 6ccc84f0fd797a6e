"""Network odds and ends every server-starting part uses: a free TCP port to listen on,
and a host as it stands in a URL."""

from __future__ import annotations

import socket

__all__ = ["free_port", "url_host"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (IPv6 when ``host`` is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
