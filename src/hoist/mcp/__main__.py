"""``python -m hoist.mcp``: the MCP server over stdio, configured by ``HOIST_*`` variables
(what a client's configuration starts; ``hoist mcp`` is the same with options)."""

from __future__ import annotations

import sys

import anyio

from hoist.errors import HoistError
from hoist.settings import Settings


def main() -> int:
    """Serve MCP over stdio until the client closes it."""
    from hoist.mcp.transports import run_stdio

    try:
        anyio.run(run_stdio, Settings.from_env())
    except HoistError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
