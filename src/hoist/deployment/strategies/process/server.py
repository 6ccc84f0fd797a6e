"""The ``process`` strategy's server: ``python -m hoist.deployment.strategies.process.server
SPEC``, where SPEC is a JSON object the runner writes:

- ``kind``: ``callable``, ``action`` or ``app``; ``code_path``; ``module`` and
  ``callable`` (kind ``callable``); ``action`` (kind ``action``, ``code_path`` is the
  plugin folder); ``app`` (kind ``app``, ``"module:attr"`` inside ``code_path``);
- ``fd``: a listening socket the runner bound and passed down (so the port is taken
  before this process starts and nothing else can take it in between);
- ``log_level``, ``access_log``, ``shutdown_timeout``: uvicorn's;
- ``parent``: the pid of the process whose runner started it: when that process is gone
  (killed, say), the server shuts down as if stopped, so no server outlives its owner.

A target that cannot be loaded ends the process with exit code 3 and one line on stderr
naming what is wrong (the runner shows it).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from typing import Any

__all__ = ["EXIT_BAD_TARGET", "build_app", "main"]

EXIT_BAD_TARGET = 3


def build_app(spec: dict[str, Any]) -> Any:
    """The ASGI app ``spec`` describes.

    Raises:
        Exception: whatever loading the target raises (a missing module, attribute, plugin
            or action; an app that is not callable).
    """
    from hoist.deployment.strategies.process import apps

    kind = spec["kind"]
    code_path = spec.get("code_path")
    if kind == "action":
        return apps.action_app(code_path or ".", spec["action"])
    if code_path and code_path not in sys.path:
        sys.path.insert(0, code_path)
    from hoist._entrypoints import resolve_entrypoint

    if kind == "app":
        target = resolve_entrypoint(spec["app"])
        if not callable(target):
            raise TypeError(f"{spec['app']!r} is not an ASGI app: {type(target).__name__}")
        return apps.asgi_app(target)
    entry = f"{spec['module']}:{spec['callable']}"
    function = resolve_entrypoint(entry)
    if not callable(function):
        raise TypeError(f"{entry!r} is not callable: {type(function).__name__}")
    return apps.callable_app(function, entry)


def main(argv: list[str] | None = None) -> int:
    """Load the target and serve it on the inherited socket until SIGTERM/SIGINT."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(args[0])
    sock = socket.socket(fileno=spec["fd"])
    try:
        app = build_app(spec)
    except Exception as exc:
        sock.close()
        print(f"hoist process server: cannot load the target: {exc!r}", file=sys.stderr)
        return EXIT_BAD_TARGET
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level=spec.get("log_level", "info"),
        access_log=spec.get("access_log", False),
        lifespan="auto",
        ws="none",
        timeout_graceful_shutdown=spec.get("shutdown_timeout", 5),
    )
    server = uvicorn.Server(config)
    parent = spec.get("parent")
    if isinstance(parent, int):
        threading.Thread(target=_exit_with_parent, args=(server, parent), daemon=True).start()
    server.run(sockets=[sock])
    return 0


def _exit_with_parent(server: Any, parent: int) -> None:
    """Ask ``server`` to shut down once ``parent`` is no longer this process's parent."""
    stopped = threading.Event()
    while not stopped.wait(0.5):  # no event tells a child its parent died: look
        if os.getppid() != parent:
            print("hoist process server: its owner process exited; stopping", file=sys.stderr)
            server.should_exit = True
            return


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.exit(main())
