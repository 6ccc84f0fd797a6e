"""An MCP client session (the official SDK's ``Client``) held open in a background event
loop, so synchronous tests and fixtures of any scope can share one.

The SDK's client is async and its transports live in one task group; a test thread
cannot enter and leave it around each call. :class:`McpSession` runs the client in its
own thread and loop, and hands each call over to that loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from tests.waiting import wait_until

T = TypeVar("T")

Connect = Callable[[], AbstractAsyncContextManager[Any]]
"""Opens a connected ``mcp.Client`` (and closes it, with its transport, at exit)."""

Progress = list[tuple[float, float | None, str | None]]


class McpSession:
    """A connected MCP client in a thread of its own; its methods block until the
    server answers.

    Args:
        connect: opens the client (see :func:`stdio_client` and :func:`http_client`).
        describe: what it connects to, for error messages.
        log: a file the server writes its error output to (stdio), shown on failure.
    """

    def __init__(self, connect: Connect, describe: str, log: Path | None = None) -> None:
        self._connect = connect
        self.describe = describe
        self.log = log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._client: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=f"mcp {describe}", daemon=True)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> McpSession:
        self._thread.start()
        wait_until(lambda: self._client is not None or self._error is not None
                   or not self._thread.is_alive(), timeout=90,
                   what=f"the MCP session with {self.describe}")  # fmt: skip
        if self._client is None:
            raise AssertionError(f"MCP session with {self.describe} failed: {self._error!r}"
                                 f"{self._server_output()}")  # fmt: skip
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the session (and the server process, over stdio)."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), f"the MCP session with {self.describe} hung"

    def _main(self) -> None:
        asyncio.run(self._hold())

    async def _hold(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with self._connect() as client:
                self._client = client
                await self._stop.wait()
        except BaseException as exc:  # shown by __enter__ or the next call
            self._error = exc

    def _server_output(self) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return f"\nserver output:\n{self.log.read_text(errors='replace')[-4000:]}"

    # ------------------------------------------------------------------ calls
    def run(self, call: Callable[[Any], Awaitable[T]], timeout: float = 120) -> T:
        """Run ``call(client)`` on the session's loop; its result (or its exception)."""
        if self._loop is None or self._client is None or not self._thread.is_alive():
            raise AssertionError(f"the MCP session with {self.describe} is closed: "
                                 f"{self._error!r}{self._server_output()}")  # fmt: skip
        future = asyncio.run_coroutine_threadsafe(call(self._client), self._loop)
        return future.result(timeout)

    def tools(self) -> dict[str, Any]:
        """``tools/list``: the tools by name."""
        listed = self.run(lambda c: c.list_tools())
        assert listed.next_cursor is None
        return {tool.name: tool for tool in listed.tools}

    def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """``tools/call``: the ``CallToolResult`` (progress notifications appended to
        ``progress`` when given)."""
        callback = None
        if progress is not None:

            async def callback(done: float, total: float | None, message: str | None) -> None:
                progress.append((done, total, message))

        return self.run(lambda c: c.call_tool(name, dict(arguments or {}),
                                              progress_callback=callback))  # fmt: skip

    def ok(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A call that must succeed: its structured content."""
        result = self.call(name, arguments)
        assert not result.is_error, f"{name} failed: {result.structured_content}"
        content: dict[str, Any] = result.structured_content
        assert json.loads(result.content[0].text) == content  # the text says the same
        return content

    def refused(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A call that must fail as an error result: its structured body."""
        result = self.call(name, arguments)
        assert result.is_error, f"{name} did not fail: {result.structured_content}"
        body: dict[str, Any] = result.structured_content
        return body

    def finished(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run an action tool to its end (following it with ``wait_run`` when the call
        answered before the run ended): the run."""
        run = self.ok(name, arguments)
        while not run["ended"]:
            run = self.ok("wait_run", {"run_id": run["id"], "timeout_seconds": 60})
        return run

    def read(self, uri: str) -> list[Any]:
        """``resources/read``: the contents."""
        return list(self.run(lambda c: c.read_resource(uri)).contents)

    def read_json(self, uri: str) -> Any:
        """A JSON resource, parsed."""
        (content,) = self.read(uri)
        assert content.mime_type == "application/json"
        return json.loads(content.text)

    def resources(self) -> list[str]:
        """``resources/list``: the URIs."""
        return [str(r.uri) for r in self.run(lambda c: c.list_resources()).resources]

    def prompt(self, name: str, arguments: Mapping[str, str]) -> str:
        """``prompts/get``: the text of its (one) message."""
        got = self.run(lambda c: c.get_prompt(name, dict(arguments)))
        (message,) = got.messages
        text: str = message.content.text
        return text


def stdio_client(env: Mapping[str, str], log: Path, cwd: Path) -> Connect:
    """Start ``python -m hoist.mcp`` with ``env`` (over the SDK's default environment)
    and connect to it over stdio; its error output goes to ``log``."""
    return stdio_command(sys.executable, ["-m", "hoist.mcp"], env, log, cwd)


def stdio_command(
    command: str, args: list[str], env: Mapping[str, str], log: Path, cwd: Path
) -> Connect:
    """Start ``command args...`` with ``env`` and connect to it over stdio."""

    @asynccontextmanager
    async def connect() -> AsyncIterator[Any]:
        from mcp.client import Client
        from mcp.client.stdio import StdioServerParameters
        from mcp.client.stdio import stdio_client as transport

        params = StdioServerParameters(command=command, args=args, env=dict(env), cwd=cwd)
        with log.open("a") as errlog:
            async with Client(transport(params, errlog=errlog), cache=None) as client:
                yield client

    return connect


def http_client(url: str, token: str | None) -> Connect:
    """Connect to the streamable HTTP endpoint ``url`` with a bearer ``token``."""

    @asynccontextmanager
    async def connect() -> AsyncIterator[Any]:
        import httpx2
        from mcp.client import Client
        from mcp.client.streamable_http import streamable_http_client

        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        timeout = httpx2.Timeout(30, read=300)
        async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, cache=None) as client:
                yield client

    return connect


def server_env(home: Path, plugin_paths: tuple[Path, ...], **extra: str) -> dict[str, str]:
    """The ``HOIST_*`` variables of a stdio server on ``home`` with these plugins."""
    return {
        "HOIST_HOME": str(home),
        "HOIST_PLUGIN_PATHS": os.pathsep.join(str(p) for p in plugin_paths),
        **extra,
    }
