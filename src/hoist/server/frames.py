"""What the event hub hands to live streams: encoded SSE frames, and each stream's
buffer of them (a :class:`Subscription`)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field

from hoist.runs.models import Event, Run, RunStatus

__all__ = ["Frame", "Subscription", "event_frame", "run_frame"]


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded SSE message; ``seq`` is the event's (0 for run-status messages)."""

    seq: int
    text: str
    terminal: bool = False


def event_frame(event: Event) -> Frame:
    """The SSE frame of a run event: ``id:`` is its ``seq``, ``event:`` its type, and
    the data its fields plus its ``summary`` (the one line every view shows)."""
    data = json.dumps({**event.to_dict(), "summary": event.summary()}, separators=(",", ":"))
    terminal = event.type == "status" and RunStatus(event.status).is_terminal
    return Frame(event.seq, f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n", terminal)


def run_frame(run: Run) -> Frame:
    """The SSE frame announcing a run's (new) status."""
    data = json.dumps(run.to_dict(), separators=(",", ":"), default=str)
    return Frame(0, f"event: run\ndata: {data}\n\n")


@dataclass(eq=False)
class Subscription:
    """A stream's buffer of frames, filled by the hub.

    Attributes:
        overflowed: the buffer passed ``max_buffer`` and was dropped; the stream must
            read what it missed from the store.
        closed: the hub shut down; the stream should end.
    """

    max_buffer: int = 10_000
    frames: deque[Frame] = field(default_factory=deque)
    overflowed: bool = False
    closed: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, frame: Frame) -> None:
        if len(self.frames) >= self.max_buffer:
            self.frames.clear()
            self.overflowed = True
        else:
            self.frames.append(frame)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def wait(self, timeout: float) -> bool:
        """Wait until frames arrive (True) or ``timeout`` passes (False)."""
        if self.frames or self.overflowed or self.closed:
            return True
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._ready.clear()
        return True

    def take(self) -> list[Frame]:
        """Everything buffered (and clears the buffer)."""
        frames = list(self.frames)
        self.frames.clear()
        return frames
