"""Prompts over both transports: listed with their arguments, and filled from the
catalog and the store (a failed run's prompt carries its error)."""

from __future__ import annotations

import pytest

from tests.mcp.conftest import need_sdk
from tests.mcp.session import McpSession

need_sdk()


def test_prompts_are_listed_with_their_arguments(mcp: McpSession) -> None:
    listed = mcp.run(lambda c: c.list_prompts()).prompts
    arguments = {p.name: [(a.name, a.required) for a in p.arguments or []] for p in listed}
    assert arguments == {
        "pick_action": [("goal", True)],
        "chain_actions": [("goal", True)],
        "investigate_run": [("run_id", True)],
    }


def test_pick_and_chain_name_the_actions_tools(mcp: McpSession) -> None:
    picked = mcp.prompt("pick_action", {"goal": "repeat a word three times"})
    assert "repeat a word three times" in picked
    assert '"tool": "mcptest__count"' in picked and "Repeat a word" in picked
    chained = mcp.prompt("chain_actions", {"goal": "train and evaluate"})
    assert '"input_type": "TextCorpus"' in chained  # text_stats.analyze's
    assert '"pipeline": "train_flow"' in chained  # sim_train's, run through run_pipeline


def test_investigate_a_failed_run_carries_its_error(mcp: McpSession) -> None:
    run = mcp.finished("mcptest__fail", {"code": 7})
    assert run["status"] == "failed"
    assert "the input is broken: code 7" in str(run["error"])
    text = mcp.prompt("investigate_run", {"run_id": run["id"]})
    assert run["id"] in text
    assert "the input is broken: code 7" in text
    assert "checking code 7" in text  # what the action told its watcher
    assert '"status": "failed"' in text


def test_a_prompt_with_a_missing_argument_or_unknown_name_is_refused(mcp: McpSession) -> None:
    from mcp.shared.exceptions import MCPError

    with pytest.raises(MCPError, match="needs goal"):
        mcp.prompt("pick_action", {})
    with pytest.raises(MCPError, match="no prompt named"):
        mcp.prompt("write_poem", {"goal": "x"})
    with pytest.raises(MCPError):
        mcp.prompt("investigate_run", {"run_id": "0123456789abcdef01234567"})
    assert mcp.prompt("pick_action", {"goal": "anything"})  # still answering
