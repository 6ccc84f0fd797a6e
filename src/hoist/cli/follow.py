"""The live display of a run whose events another process writes (``--mode task`` and
``--mode job``: Ray workers write straight into the run store), and the end of a live
display on a piped stream."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console

from hoist.errors import RunNotFoundError, StoreError

__all__ = ["StoreFollower", "end_live"]

_POLL = 0.1  # seconds between reads of the store while nothing new arrives


def end_live(console: Console) -> None:
    """End a live display's last frame with a line break when the console is not a
    terminal (Rich leaves it open there), so the next line is not glued to it."""
    if not console.is_terminal:
        console.line()


class StoreFollower(threading.Thread):
    """Reads a run's events from the store as they are written and hands them to a
    sink (the console), from the moment the run is recorded until :meth:`finish`.

    Args:
        store: the run store the workers write to.
        run_id: the run to follow.
        sink: what shows the events (its ``emit``).
    """

    def __init__(self, store: Any, run_id: str, sink: Any) -> None:
        super().__init__(name=f"hoist-follow-{run_id}", daemon=True)
        self.store = store
        self.run_id = run_id
        self.sink = sink
        self._done = threading.Event()
        self._deadline = 0.0

    def run(self) -> None:
        """Wait until the run is recorded, then pass on each new event; after
        :meth:`finish`, read until nothing is left, then stop."""
        try:
            self._follow()
        except StoreError:  # the command reports store failures itself
            return

    def _follow(self) -> None:
        while True:
            try:
                self.store.get_run(self.run_id)
                break
            except RunNotFoundError:
                if self._done.wait(_POLL):
                    break
        seq = 0
        while True:
            try:
                batch = self.store.events(self.run_id, after_seq=seq, limit=1000)
            except RunNotFoundError:
                batch = []
            for event in batch:
                self.sink.emit(event)
            if batch:
                seq = batch[-1].seq
                continue
            if self._done.is_set() and (self._ended() or time.monotonic() > self._deadline):
                tail = self.store.events(self.run_id, after_seq=seq)  # written meanwhile
                for event in tail:
                    self.sink.emit(event)
                return
            if self._done.is_set():
                time.sleep(_POLL)  # finishing: the run's end is on its way
            else:
                self._done.wait(_POLL)

    def _ended(self) -> bool:
        try:
            ended: bool = self.store.get_run(self.run_id).status.is_terminal
        except RunNotFoundError:
            return False
        return ended

    def finish(self, timeout: float = 10.0) -> None:
        """Show the rest of the run's events and stop following: once the store holds the
        run's end (a Ray worker's last events may land after its result), or after half
        of ``timeout``."""
        self._deadline = time.monotonic() + timeout / 2  # a worker's last events may lag
        self._done.set()
        if self.is_alive():
            self.join(timeout)
