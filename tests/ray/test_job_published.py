"""mode='job' from a published package: a plugin published to a folder location runs as
a Ray Job from ``LOCATION:CODE@VERSION``, unpacked (verified) into the package cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hoist.plugins.packaging import materialize, publish_plugin
from hoist.runs.models import RunStatus
from hoist.runs.runtime import Runtime


def test_a_published_plugin_runs_as_a_job(
    ray_cluster: Any, calc_plugin: Path, runtime: Runtime, tmp_path: Path
) -> None:
    from hoist.executors.ray.job import RayJobExecutor

    shelf = tmp_path / "shelf"
    home = runtime.settings.home
    home.mkdir(parents=True, exist_ok=True)
    (home / "storage.yaml").write_text(f"storage:\n  shelf:\n    url: {shelf.as_uri()}\n")
    published = publish_plugin(calc_plugin, to="shelf", settings=runtime.settings)
    reference = f"shelf:calc@{published.version}"

    executor = RayJobExecutor(address=ray_cluster.address, runtime=runtime, working_dir=reference)
    assert executor.working_dir is not None
    assert executor.working_dir.parent.parent == home / "cache" / "packages"
    assert (executor.working_dir / "plugin" / "actions.py").read_text() == (
        calc_plugin / "plugin" / "actions.py"
    ).read_text()

    result = executor.execute("add", {"a": 2, "b": 40})
    assert result["total"] == 42
    (run,) = runtime.store.list_runs()
    assert (run.status, run.mode, run.plugin) == (RunStatus.SUCCEEDED, "job", "calc")
    assert run.meta["plugin_path"] == str(executor.working_dir)

    # the same package again: the unpacked folder is reused, not unpacked anew
    marker = executor.working_dir / "plugin" / "marker.txt"
    marker.write_text("kept")
    assert materialize(reference, settings=runtime.settings) == executor.working_dir
    assert marker.read_text() == "kept"
