"""The connect boundary maps Ray's exceptions to Hoist's, most specific first."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from hoist.errors import ActionFailedError, RunCancelledError, RunLostError
from tests.conftest import need


@pytest.fixture
def exceptions() -> Any:
    if importlib.util.find_spec("ray") is None:
        need("ray is not installed (pip install 'hoist[ray]')")
    import ray.exceptions

    return ray.exceptions


def test_a_runtime_env_that_cannot_be_built_fails_the_run_naming_the_requirements(
    exceptions: Any,
) -> None:
    from hoist.executors.ray.connect import map_ray_error

    error = map_ray_error(exceptions.RuntimeEnvSetupError("pip install failed"), "r1")
    assert isinstance(error, ActionFailedError) and not isinstance(error, RunLostError)
    assert (error.run_id, error.error_type) == ("r1", "RuntimeEnvSetupError")
    assert "pip install failed" in error.error_message
    assert "requirements" in error.error_message


def test_a_gone_worker_loses_the_run_unless_its_cancel_stopped_it(exceptions: Any) -> None:
    from hoist.executors.ray.connect import map_ray_error

    for gone in (
        exceptions.ActorDiedError(),
        exceptions.WorkerCrashedError(),
        exceptions.RayChannelTimeoutError("no answer"),
        exceptions.ObjectLostError("ab" * 14, b"", ""),
    ):
        lost = map_ray_error(gone, "r2", worker="the Ray actor running the pipeline")
        assert isinstance(lost, RunLostError)
        assert lost.run_id == "r2"
        assert f"the Ray actor running the pipeline died ({type(gone).__name__})" in str(lost)
        assert isinstance(map_ray_error(gone, "r2", cancelled=True), RunCancelledError)
    assert isinstance(map_ray_error(exceptions.TaskCancelledError(), "r3"), RunCancelledError)


def test_what_is_not_a_gone_worker_is_left_to_the_caller(exceptions: Any) -> None:
    from hoist.executors.ray.connect import map_ray_error

    assert map_ray_error(ValueError("the caller's own"), "r4") is None
    assert map_ray_error(RunCancelledError("r4"), "r4") is None  # already Hoist's
    assert map_ray_error(exceptions.GetTimeoutError("a timeout is not a death"), "r4") is None
