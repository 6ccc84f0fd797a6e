"""print() and stderr inside an entry point: log events of that run only."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime
from hoist.services import capture
from hoist.services.pool import ServicePool
from tests.services.conftest import ended, events, launch


def logs(runtime: Runtime, run_id: str) -> list[tuple[str, str | None, str]]:
    return [(e.level, e.logger, e.message) for e in events(runtime, run_id, "log")]


def test_concurrent_executions_never_mix(runtime: Runtime, pool: ServicePool) -> None:
    turns: dict[str, asyncio.Event] = {}
    go = threading.Event()
    in_thread = threading.Event()

    def turn(name: str) -> asyncio.Event:
        return turns.setdefault(name, asyncio.Event())  # all on the pool's one loop

    async def ping(inputs: Any) -> None:
        print("ping 1")
        turn("ping").set()
        await turn("pong").wait()
        print("ping 2", file=sys.stderr)

    async def pong(inputs: Any) -> None:
        await turn("ping").wait()
        print("pong 1")
        turn("pong").set()
        await asyncio.to_thread(print, "pong from a helper thread")

    def threaded(inputs: Any) -> None:
        print("thread 1")
        in_thread.set()
        go.wait(30)
        sys.stdout.write("thread 2\n")

    ids = [launch(pool, ping), launch(pool, pong), launch(pool, threaded)]
    assert in_thread.wait(30)
    print("the test's own line")  # outside any execution
    go.set()
    for run_id in ids:
        assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
    assert logs(runtime, ids[0]) == [
        ("INFO", "stdout", "ping 1"),
        ("WARNING", "stderr", "ping 2"),
    ]
    assert logs(runtime, ids[1]) == [
        ("INFO", "stdout", "pong 1"),
        ("INFO", "stdout", "pong from a helper thread"),
    ]
    assert logs(runtime, ids[2]) == [
        ("INFO", "stdout", "thread 1"),
        ("INFO", "stdout", "thread 2"),
    ]


def test_partial_lines_wait_for_their_end_or_the_execution_end(
    runtime: Runtime, pool: ServicePool
) -> None:
    def chunks(inputs: Any) -> None:
        sys.stdout.write("par")
        sys.stdout.write("tial\nsecond\r\nunfinished")
        sys.stderr.write("no newline either")
        raise RuntimeError("after the output")

    run_id = launch(pool, chunks)
    assert ended(runtime, run_id).status is RunStatus.FAILED
    assert logs(runtime, run_id) == [
        ("INFO", "stdout", "partial"),
        ("INFO", "stdout", "second"),
        ("INFO", "stdout", "unfinished"),
        ("WARNING", "stderr", "no newline either"),
    ]
    types = [e.type for e in events(runtime, run_id)]
    assert types[-2:] == ["error", "status"]  # flushed before the run ended


def test_writes_outside_executions_reach_the_original_stream(
    runtime: Runtime, make_pool: Callable[..., ServicePool], capsys: pytest.CaptureFixture[str]
) -> None:
    original = sys.stdout
    pool = make_pool()
    run_id = launch(pool, lambda: print("inside"))
    assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
    assert sys.stdout is not original  # the proxy, while the pool lives
    print("outside")
    sys.stdout.flush()
    assert sys.stdout.encoding == original.encoding  # other attributes pass through
    out = capsys.readouterr().out
    assert "outside" in out and "inside" not in out
    assert logs(runtime, run_id) == [("INFO", "stdout", "inside")]
    pool.close()
    assert sys.stdout is original


def test_the_streams_stay_captured_while_any_pool_lives(
    make_pool: Callable[..., ServicePool], runtime: Runtime
) -> None:
    original = sys.stderr
    first, second = make_pool(name="one"), make_pool(name="two")
    launch(first, lambda: None)
    launch(second, lambda: None)
    first.close()
    assert sys.stderr is not original
    run_id = launch(second, lambda: print("still mine", file=sys.stderr))
    assert ended(runtime, run_id).status is RunStatus.SUCCEEDED
    assert logs(runtime, run_id) == [("WARNING", "stderr", "still mine")]
    second.close()
    assert sys.stderr is original


class _Lines:
    run_id = "unit"

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str | None]] = []

    def emit_log(self, message: str, level: str = "INFO", logger: str | None = None) -> None:
        self.lines.append((message, level, logger))


def test_a_capture_assembles_lines_per_stream() -> None:
    sink = _Lines()
    captured = capture.Capture(sink)
    captured.write("stdout", "a")
    captured.write("stderr", "x\n")
    captured.write("stdout", "b\n\nc")
    assert sink.lines == [
        ("x", "WARNING", "stderr"),
        ("ab", "INFO", "stdout"),
        ("", "INFO", "stdout"),
    ]
    captured.flush()
    captured.flush()  # nothing left the second time
    assert sink.lines[-1] == ("c", "INFO", "stdout")
    assert len(sink.lines) == 4


def test_the_context_decides_where_a_write_goes(capsys: pytest.CaptureFixture[str]) -> None:
    sink = _Lines()
    capture.install()
    try:
        captured, token = capture.begin(sink)
        assert capture.current() is captured
        seen: list[Any] = []
        other = threading.Thread(target=lambda: seen.append(capture.current()))
        other.start()
        other.join()
        assert seen == [None]  # a plain thread does not inherit the execution's context
        print("captured line")
        capture.end(captured, token)
        assert capture.current() is None
        print("plain line")
    finally:
        capture.uninstall()
    assert sink.lines == [("captured line", "INFO", "stdout")]
    assert capsys.readouterr().out == "plain line\n"
