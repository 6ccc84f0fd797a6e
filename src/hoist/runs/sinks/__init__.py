"""Event sinks: where a run's context sends its events."""

from hoist.runs.sinks.base import EventSink
from hoist.runs.sinks.fanout import FanoutSink
from hoist.runs.sinks.memory import MemorySink

__all__ = ["EventSink", "FanoutSink", "MemorySink"]
