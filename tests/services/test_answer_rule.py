"""Who may answer a run's lock: one rule (``hoist.services.identity.may_answer``) that
the service and the Hoist server both apply."""

from __future__ import annotations

import pytest

from hoist.services.identity import may_answer


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_answer_any_run(role: str) -> None:
    assert may_answer("bob", role, "alice")
    assert may_answer("bob", role, None)


def test_a_viewer_answers_only_the_runs_they_launched() -> None:
    assert may_answer("alice", "viewer", "alice")
    assert not may_answer("bob", "viewer", "alice")


@pytest.mark.parametrize("launcher", [None, "", 7, {"user": "alice"}])
def test_a_run_without_a_launcher_is_answered_only_by_operators(launcher: object) -> None:
    assert not may_answer("alice", "viewer", launcher)
    assert not may_answer("", "viewer", launcher)


def test_an_unknown_role_is_no_operator() -> None:
    assert not may_answer("bob", "Operator", "alice")
    assert not may_answer("bob", None, "alice")
