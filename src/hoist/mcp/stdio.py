"""This process's stdin and stdout as the MCP stdio transport's wire, read and written
through asyncio's pipe transports.

The SDK's ``stdio_server()`` reads and writes its standard streams through a worker
thread per line (three thread hops per call); handing it asyncio pipe streams instead
saves about 0.3 ms a call (``benchmarks/bench_mcp.py``). As the SDK does, the wire is
moved off descriptors 0 and 1 while serving: fd 0 then reads the null device and fd 1
writes to stderr, so an action that prints (or a child process it starts) can never
corrupt the protocol. Standard streams that are not pipes, sockets or terminals (a
regular file, say) keep the SDK's own reading.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio

__all__ = ["stdio_wire"]

_MAX_LINE = 64 * 1024 * 1024  # one JSON-RPC message per line; the SDK's own limit is none


class _Lines:
    """The wire's incoming lines, for ``stdio_server(stdin=...)``."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def __aiter__(self) -> AsyncIterator[str]:
        while line := await self.reader.readline():
            yield line.decode("utf-8", "replace")


class _Writer:
    """The wire's outgoing side, for ``stdio_server(stdout=...)``."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def write(self, text: str) -> None:
        self.writer.write(text.encode())

    async def flush(self) -> None:
        try:
            await self.writer.drain()
        except (BrokenPipeError, ConnectionResetError):  # the client left
            raise anyio.ClosedResourceError from None


@asynccontextmanager
async def stdio_wire() -> AsyncIterator[tuple[Any, Any] | None]:
    """``(stdin, stdout)`` for the SDK's ``stdio_server``, or ``None`` when the standard
    streams cannot be read as pipes (then let the SDK claim them itself)."""
    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    reader = asyncio.StreamReader(limit=_MAX_LINE)
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", 0)
        )
        transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", 0)
        )
    except (ValueError, OSError):  # not a pipe, socket or terminal
        for fd in (wire_in, wire_out):
            with suppress(OSError):
                os.close(fd)
        yield None
        return
    saved_in, saved_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        yield _Lines(reader), _Writer(asyncio.StreamWriter(transport, protocol, reader, loop))
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        os.close(saved_in)
        os.close(saved_out)
        transport.close()
