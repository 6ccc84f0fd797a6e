"""Batches of the :class:`~hoist.runs.sinks.writer.BatchWriter`, and what becomes of one
whose write failed: :class:`Pending` keeps it for another try, halves it to find the
units at fault, or sets it aside (:class:`Rejected`) and reports it once;
:class:`Outage` says once that the target fails, and remembers whether it refuses writes
(read-only, no permission, full), which ``flush`` reports at once.

A unit is what a backend queued for one run or event: e.g. a row for the run store, a
JSON text for a server."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hoist.errors import StoreError, StoreUnwritableError

__all__ = ["Batch", "Outage", "Pending", "Rejected"]

_log = logging.getLogger("hoist.sinks")


@dataclass(frozen=True)
class Rejected:
    """Runs and events a backend refused for good (as it encoded them: e.g. ``runs``
    and ``events`` rows for the store), set aside, and why."""

    items: list[Any]
    error: str


class Batch:
    """Units taken off the queue as one write, with the payload the backend made of
    them once: written (and retried) as is."""

    __slots__ = ("count", "items", "payload", "tries")

    def __init__(self, items: list[Any], payload: Any) -> None:
        self.items = items
        self.payload = payload
        self.count = len(items)
        self.tries = 0


class Pending:
    """Batches taken off the queue and not written yet, oldest first.

    Args:
        target: what is written to, for messages.
        max_tries: tries of a batch refused for good before it is halved (or set aside).
    """

    def __init__(self, target: str, max_tries: int) -> None:
        self.target = target
        self.max_tries = max_tries
        self.batches: deque[Batch] = deque()
        self.rejected: deque[Rejected] = deque(maxlen=100)
        self._unreported: list[Rejected] = []

    def __bool__(self) -> bool:
        return bool(self.batches)

    def first(self) -> Batch | None:
        """The batch to try next, if any."""
        return self.batches[0] if self.batches else None

    def written(self, batch: Batch) -> None:
        """``batch`` is written: forget it."""
        if self.batches and self.batches[0] is batch:
            self.batches.popleft()

    def refused(
        self, batch: Batch, error: str, splittable: bool, rebatch: Callable[[list[Any]], Batch]
    ) -> int | None:
        """``batch`` was refused for good (``error``): keep it for another try (``None``),
        halve it (``splittable``: the refusal may come from some items only; ``rebatch``
        encodes each half), or set it aside. Returns how many queued units that finished.
        """
        if not self.batches or self.batches[0] is not batch:
            self.batches.appendleft(batch)
        batch.tries += 1
        if batch.tries < self.max_tries:
            _log.warning("%s refused a batch (try %d of %d): %s", self.target, batch.tries,
                         self.max_tries, error)  # fmt: skip
            return None
        self.batches.popleft()
        if len(batch.items) > 1 and splittable:
            # Halve it to find the items at fault: each half gets one more try.
            half = len(batch.items) // 2
            first, second = rebatch(batch.items[:half]), rebatch(batch.items[half:])
            first.tries = second.tries = self.max_tries - 1
            self.batches.extendleft((second, first))
            return 0
        rejected = Rejected(list(batch.items), error)
        self.rejected.append(rejected)
        self._unreported.append(rejected)
        _log.error("%s refused %d runs/events for good; set aside: %s", self.target,
                   len(batch.items), error)  # fmt: skip
        return batch.count

    def kept(self, batch: Batch) -> None:
        """``batch`` failed for a reason that can pass: keep it, as is, for later."""
        if not self.batches or self.batches[0] is not batch:
            self.batches.appendleft(batch)

    def report(self) -> None:
        """Raise for what was set aside since the last report.

        Raises:
            StoreError: names how many runs/events, and the latest reason.
        """
        if not self._unreported:
            return
        refused, self._unreported = self._unreported, []
        count = sum(len(r.items) for r in refused)
        raise StoreError(
            f"{self.target} refused {count} runs/events for good (set aside in "
            f".rejected): {refused[-1].error}"
        )


class Outage:
    """Whether the target fails now, said once per outage (not once per try).

    A failure that can pass (a lock, a lost connection) is logged as such; a refusal of
    writes (read-only, no permission, full) is said once, naming the target, and kept in
    :attr:`refusal` until a write passes, so that every ``flush`` meanwhile fails at once
    with it instead of waiting.

    Args:
        target: what is written to, for messages.
        retry: seconds between tries while the target refuses writes.
    """

    def __init__(self, target: str, retry: float) -> None:
        self.target = target
        self.retry = retry
        self.failing = False
        self.refusal: str | None = None
        """Why the target refuses writes, while it does."""

    def failed(
        self, what: str, error: str, refusal: str | None, unwritten: int, quiet: bool = False
    ) -> None:
        """A try to ``what`` failed with ``error`` (``refusal``: why writes are refused;
        ``quiet``: the caller says that itself)."""
        if refusal is not None:
            if self.refusal is None and not quiet:
                _log.error(
                    "%s is not writable (%s): %d runs/events kept in memory, tried again "
                    "every %gs", self.target, refusal, unwritten, self.retry,
                )  # fmt: skip
            self.refusal = refusal
            self.failing = True
        elif not self.failing:
            self.failing = True
            _log.warning("%s: could not %s, will retry: %s", self.target, what, error)

    def recovered(self) -> None:
        """A write passed."""
        if self.failing:
            self.failing = False
            self.refusal = None
            _log.info("%s accepts writes again", self.target)

    def raise_refusal(self, unwritten: int) -> None:
        """Raise while the target refuses writes.

        Raises:
            StoreUnwritableError: names the target, the reason and what is not written.
        """
        if self.refusal is not None:
            raise StoreUnwritableError(self.target, self.refusal, unwritten)
