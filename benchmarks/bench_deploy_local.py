"""The `local` deployment strategy's cost per call: ``LocalRunner.run`` (the callable in
its own worker subprocess, inputs and envelope pickled over pipes) against calling the
same function directly in this process (the baseline), for a small input and a 100 kB
one; and a plugin action through the worker (params validated there) against
validating and running it here. Also the worker's start (spawn, import, ready).

The issue's target: at most 0.5 ms per call over the direct call.

    .venv/bin/python benchmarks/bench_deploy_local.py
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _util import best_per_op, report  # type: ignore[import-not-found]

MAIN = """
def predict(inputs):
    return {"n": len(inputs.get("text", "")), "echo": inputs.get("x")}
"""

CONFIG = """
name: Bench
code: bench
version: 0.1.0
category: neural_net
description: bench
actions:
  count:
    entrypoint: plugin.actions:count
    method: local
    description: count
"""

ACTIONS = """
from pydantic import BaseModel

from hoist import RuntimeContext, action


class P(BaseModel):
    text: str = ""


class R(BaseModel):
    n: int


@action(name="count", description="count", params=P, result=R)
def count(params: P, context: RuntimeContext) -> R:
    return R(n=len(params.text))
"""

NUMBER = 2000


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _direct(code: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_direct_main", code / "main.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.predict


def _row(what: str, runner_s: float, direct_s: float) -> tuple[str, str, str, str]:
    over_ms = (runner_s - direct_s) * 1e3
    verdict = "ok" if over_ms <= 0.5 else "OVER"
    return (
        what,
        f"{runner_s * 1e6:8.1f} us",
        f"{direct_s * 1e6:8.1f} us",
        f"+{over_ms:.3f} ms / call (target <= 0.5 ms: {verdict})",
    )


def main() -> None:
    from hoist.deployment.strategies.local import LocalRunner
    from hoist.plugins.context import RuntimeContext
    from hoist.plugins.discovery import load_plugin
    from hoist.plugins.invoke import run_action
    from hoist.runs.sinks.memory import MemorySink

    root = Path(tempfile.mkdtemp(prefix="bench-deploy-local-"))
    code = _write(root / "code", {"main.py": MAIN})
    plugin = _write(
        root / "plugin",
        {"config.yaml": CONFIG, "plugin/__init__.py": "", "plugin/actions.py": ACTIONS},
    )
    rows = [("what", "local runner", "direct call", "overhead")]

    predict = _direct(code)
    small: dict[str, Any] = {"x": 1, "text": "hello"}
    large: dict[str, Any] = {"x": 1, "text": "y" * 100_000}
    runner = LocalRunner(code_path=code)
    try:
        t0 = time.perf_counter()
        runner.start()
        start_s = time.perf_counter() - t0
        assert runner.run(small)["status"] == "success"
        for name, inputs, number in (
            ("callable, small input", small, NUMBER),
            ("callable, 100 kB input", large, NUMBER // 4),
        ):
            direct = best_per_op(
                lambda i=inputs: {"status": "success", "output": predict(i)}, number
            )
            local = best_per_op(lambda i=inputs: runner.run(i), number)
            rows.append(_row(name, local, direct))
    finally:
        runner.stop()

    action_cls = load_plugin(plugin).load_action("count")
    sink = MemorySink()

    def direct_action() -> Any:
        params = action_cls.validate_params({"text": "hello"})
        return run_action(action_cls, params, RuntimeContext("bench", sink, action_name="count"))

    action_runner = LocalRunner(code_path=plugin, action="count")
    try:
        assert action_runner.run({"text": "hello"})["status"] == "success"
        direct = best_per_op(direct_action, NUMBER)
        local = best_per_op(lambda: action_runner.run({"text": "hello"}), NUMBER)
        rows.append(_row("plugin action", local, direct))
    finally:
        action_runner.stop()

    print(f"local strategy (python {sys.version.split()[0]}), best of 5 batches")
    report(rows)
    print(f"worker start (spawn, import the code, ready): {start_s * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
