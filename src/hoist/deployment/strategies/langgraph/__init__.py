"""The ``langgraph`` strategy: a LangGraph graph served by a real LangGraph server
(``langgraph dev`` from ``langgraph-cli[inmem]``, in its own environment) or an existing
one (``url``), called through the LangGraph server API: threads, runs, streaming."""

from __future__ import annotations

from hoist.deployment.strategies.langgraph.runner import LangGraphRunner

__all__ = ["LangGraphRunner"]
