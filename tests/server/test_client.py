"""The client: error mapping, the async client, and the SSE parser."""

from __future__ import annotations

import asyncio

import pytest

from hoist.client import AsyncHoistClient, AuthError, HoistClient, ServerError
from hoist.client.sse import SSEParser
from hoist.errors import HoistError, NotFoundError, ParamsValidationError, RunNotFoundError
from tests.server.conftest import ADMIN_PASSWORD, LiveServer


def test_errors_map_to_hoist_errors(server: LiveServer, admin: HoistClient) -> None:
    with pytest.raises(ParamsValidationError) as invalid:
        admin.launch("text_stats", "word_count", params={"text": 5})
    assert invalid.value.field_errors == {"text": ["must be a string"]}
    with pytest.raises(RunNotFoundError) as missing:
        admin.get_run("feedfacefeedface")
    assert missing.value.name == "feedfacefeedface"
    with pytest.raises(NotFoundError, match="unknown user"):
        admin.get_user("nobody")
    with pytest.raises(AuthError) as unauthenticated:
        server.client(None).list_runs()
    assert unauthenticated.value.status_code == 401
    assert isinstance(unauthenticated.value, HoistError)
    assert issubclass(ServerError, HoistError)


def test_the_async_client(server: LiveServer) -> None:
    async def scenario() -> None:
        async with AsyncHoistClient(server.url) as client:
            assert (await client.health())["status"] == "ok"
            user = await client.login("admin", ADMIN_PASSWORD)
            assert user["username"] == "admin"
            created = await client.create_token("async")  # a session POST: CSRF sent
            assert created["token"].startswith("hoist_")
            run_id = await client.launch("text_stats", "word_count", params={"text": "a b"})
            run = await client.wait(run_id)
            assert run.result == {"words": 2, "distinct": 2}
            assert [e.seq for e in await client.events(run_id)][-1] == len(
                await client.events(run_id)
            )
            with pytest.raises(RunNotFoundError):
                await client.get_run("0000000000000000")
            await client.logout()
            with pytest.raises(AuthError):
                await client.me()

    asyncio.run(scenario())


def test_sse_parser() -> None:
    parser = SSEParser()
    lines = [": keep-alive", "", "id: 3", "event: log", "data: {\"a\":", "data: 1}", "",
             "data: plain", ""]  # fmt: skip
    messages = [m for m in map(parser.feed, lines) if m is not None]
    assert [(m.id, m.event, m.data) for m in messages] == [
        ("3", "log", '{"a":\n1}'),
        ("3", "message", "plain"),  # the last id carries over, as in browsers
    ]
