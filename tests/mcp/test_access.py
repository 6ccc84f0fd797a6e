"""Who may see what, without a transport: the exposure patterns of ``HOIST_MCP_EXPOSE``,
callers' roles, and the tool names actions get."""

from __future__ import annotations

import re

import pytest

from tests.mcp.conftest import need_sdk

need_sdk()  # before what imports the SDK

from hoist.mcp.access import Caller, Exposure, NotExposedError, RoleRefusedError  # noqa: E402
from hoist.mcp.tools import tool_name  # noqa: E402
from hoist.server.accounts import Role  # noqa: E402


def test_no_patterns_expose_everything() -> None:
    everything = Exposure()
    assert everything.plugin("any") and everything.action("any", "thing")
    assert everything.allows(None)  # what no plugin owns (a service's run)


@pytest.mark.parametrize(
    ("patterns", "plugin", "action", "exposed"),
    [
        (("shapes",), "shapes", "train", True),
        (("shapes",), "shapes2", "train", False),
        (("shapes.predict",), "shapes", "predict", True),
        (("shapes.predict",), "shapes", "train", False),
        (("shapes.*",), "shapes", "train", True),
        (("train_*",), "train_big", "fit", True),
        (("train_*",), "pretrain", "fit", False),
        (("*.predict",), "anything", "predict", True),
        (("*.predict",), "anything", "train", False),
        (("a.x", "b"), "b", "y", True),
        (("a.x", "b"), "a", "y", False),
    ],
)
def test_patterns_name_plugins_and_actions(
    patterns: tuple[str, ...], plugin: str, action: str, exposed: bool
) -> None:
    exposure = Exposure(patterns)
    assert exposure.action(plugin, action) is exposed
    assert exposure.allows(plugin, action) is exposed
    if exposed:
        assert exposure.plugin(plugin)  # a plugin with an exposed action is listed


def test_check_refuses_without_saying_whether_it_exists() -> None:
    exposure = Exposure(("shapes.predict",))
    exposure.check("shapes", "predict")
    exposure.check("shapes")
    with pytest.raises(NotExposedError, match=r"^shapes\.train is not exposed"):
        exposure.check("shapes", "train")
    with pytest.raises(NotExposedError, match=r"^other is not exposed"):
        exposure.check("other")


def test_roles_order_what_callers_may_do() -> None:
    local = Caller("me")
    assert all(local.allows(role) for role in Role)
    viewer, operator = Caller("v", Role.VIEWER), Caller("o", Role.OPERATOR)
    assert viewer.allows(Role.VIEWER) and not viewer.allows(Role.OPERATOR)
    assert operator.allows(Role.OPERATOR) and not operator.allows(Role.ADMIN)
    operator.require(Role.OPERATOR, "launching")
    with pytest.raises(RoleRefusedError, match="launching needs the operator role; v is viewer"):
        viewer.require(Role.OPERATOR, "launching")


def test_tool_names_are_safe_unique_and_short() -> None:
    assert tool_name("text_stats", "word_count") == "text_stats__word_count"
    assert tool_name("my-plugin", "do.it now") == "my-plugin__do_it_now"
    long_a = tool_name("p" * 40, "a" * 40)
    long_b = tool_name("p" * 40, "a" * 39 + "b")
    for name in (long_a, long_b):
        assert len(name) == 64 and re.fullmatch(r"[A-Za-z0-9_-]+", name)
    assert long_a != long_b
    assert tool_name("p" * 40, "a" * 40) == long_a  # stable
