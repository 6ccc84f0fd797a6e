"""The ``ray-serve`` strategy's logs: Serve's replica log files of one application, read
from the Ray session's log folder when the cluster runs on this machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["replica_logs", "serve_logs_dir"]

_TAIL = 32 * 1024


def serve_logs_dir() -> Path | None:
    """``<session>/logs/serve`` of the connected Ray node on this machine, or ``None``
    (not connected, or the session folder is not here)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    try:
        node = ray._private.worker._global_node
        folder = Path(node.get_logs_dir_path()) / "serve"
    except Exception:
        return None
    return folder if folder.is_dir() else None


def replica_logs(app_name: str, tail: int = _TAIL) -> str:
    """The tail of each replica log file of Serve application ``app_name`` (``""`` when
    there are none here), each under a ``==> file <==`` header."""
    folder = serve_logs_dir()
    if folder is None:
        return ""
    parts = []
    for file in sorted(folder.glob(f"replica_{app_name}_*.log")):
        try:
            with file.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - tail))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            continue
        parts.append(f"==> {file.name} <==\n{text}")
    return "\n".join(parts)
