"""A Ray Job's folder: the job's description (``.hoist-job/job.json``), its secrets
(``.hoist-job/secrets.json``, mode 0600, deleted once read: the environment variables
the executor was given and the action's params) and, when the plugin ships, a
hard-linked copy of the plugin folder. For a remote cluster the folder is the job's
uploaded working directory; for a cluster on this machine it stays in the run's folder
and the entrypoint is given its path (no upload).

Params travel in the secrets file rather than in environment variables or the entrypoint
string, so there is no size limit to play games with, and secrets never appear in the
job record that Ray shows (the record holds only the entrypoint, metadata and
``runtime_env``). They are secrets until the worker knows better: the driver does not
import the action, so it cannot tell which of them (``SecretStr`` fields) are; neither
``job.json`` nor the run record holds their values.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hoist.executors.ray.packaging import iter_package_files

__all__ = ["JOB_DIR", "JobDescription", "read_job", "stage_job"]

JOB_DIR = ".hoist-job"
"""Sub-folder of the job's working directory holding its description and secrets."""


@dataclass
class JobDescription:
    """Everything a job's entrypoint needs to run one action and record it.

    Attributes:
        entrypoint, action: the action (``module:attr``, plugin-relative with a plugin).
        plugin_path: the plugin folder on the worker's machine; ``"@working_dir"`` when it
            shipped as the job's working directory; ``None`` for an importable action.
        run: the run record's fields (``id``, ``kind``, ``parent_id``, ...).
        params: the action's params (JSON data, secret values revealed): staged in the
            secrets file, never in ``job.json``.
        env: the action's ``ctx.env``.
        store_url, home: the run store and Hoist home the worker writes to.
        progress_interval: minimum spacing of progress events.
    """

    entrypoint: str
    action: str
    plugin_path: str | None
    run: dict[str, Any]
    params: dict[str, Any]
    env: dict[str, Any] = field(default_factory=dict)
    store_url: str = ""
    home: str = ""
    progress_interval: float = 0.02


def stage_job(
    job: JobDescription,
    *,
    secrets: Mapping[str, str] | None = None,
    plugin_root: Path | None = None,
    excludes: Sequence[str] = (),
    into: Path | None = None,
) -> Path:
    """Build a job's folder and return it: ``into`` (a folder the workers share with
    this machine), or a new temporary folder that becomes the job's uploaded working
    directory (the caller removes it once ``submit_job`` returns).
    """
    if into is not None:
        into.mkdir(parents=True, exist_ok=True)
    staging = into if into is not None else Path(tempfile.mkdtemp(prefix="hoist-job-"))
    try:
        if plugin_root is not None:
            _link_tree(plugin_root, staging, excludes)
        job_dir = staging / JOB_DIR
        job_dir.mkdir(exist_ok=True)
        description = asdict(job)
        params = description.pop("params")
        (job_dir / "job.json").write_text(json.dumps(description))
        path = job_dir / "secrets.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"env": dict(secrets or {}), "params": params}, handle)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def read_job(folder: Path) -> tuple[JobDescription, dict[str, str]]:
    """The description (with its params) and the environment secrets staged in
    ``folder`` (inside the job). The secrets file is deleted once read.

    Raises:
        FileNotFoundError: the secrets file is gone (the job's folder was read before).
    """
    job_dir = folder / JOB_DIR
    secrets_file = job_dir / "secrets.json"
    staged = json.loads(secrets_file.read_text())
    secrets_file.unlink(missing_ok=True)
    description = json.loads((job_dir / "job.json").read_text())
    job = JobDescription(**description, params=staged["params"])
    return job, dict(staged["env"])


def _link_tree(root: Path, target: Path, excludes: Sequence[str]) -> None:
    """Hard-link (copy across file systems) the shipped files of ``root`` into ``target``."""
    for path, _size in iter_package_files(root, excludes):
        dest = target / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)
