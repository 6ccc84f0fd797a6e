"""Built-in deployment strategies: one folder per strategy (``runner.py``,
``config.yaml``, ``selector_instruction.md``, ``adapter_instruction.md``).

`Runner` and `StrategyRegistry` are re-exported here, where Kapso's strategy authors
import them from.
"""

from __future__ import annotations

from hoist.deployment.base import Runner
from hoist.deployment.registry import StrategyRegistry

__all__ = ["Runner", "StrategyRegistry"]
