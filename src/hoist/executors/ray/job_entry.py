"""The entrypoint of a Hoist Ray Job: ``python -m hoist.executors.ray.job_entry [FOLDER]``.

Runs in the job's working directory, reads the staged description, runs the action with
its events going to the run store, and exits 0 when the action succeeded, 1 otherwise.
The driver reads the result from the store, never from this process's output. A
``SIGTERM`` (``ray job stop``) cancels the action at its next cancellation point, so the
run still ends with a terminal event.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

__all__ = ["main"]


def main() -> int:
    """Run the staged action; the exit code says whether it succeeded."""
    from hoist.executors.ray.staging import read_job
    from hoist.executors.ray.worker import ActionSpec, WorkerRuntime
    from hoist.runs.models import Run

    # The job's folder: its uploaded working directory, or a folder on a file system the
    # workers share with the driver (a cluster on the driver's machine), given as argument.
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    job, secrets = read_job(folder)
    os.environ.update(secrets)
    plugin_path = os.getcwd() if job.plugin_path == "@working_dir" else job.plugin_path
    worker = WorkerRuntime(job.store_url, job.home)
    run = Run(**job.run)

    def stop(signum: int, _frame: FrameType | None) -> None:
        worker.cancel(run.id, f"the Ray job was stopped (signal {signum})")

    signal.signal(signal.SIGTERM, stop)
    try:
        spec = ActionSpec(job.entrypoint, job.action, plugin_path)
        outcome = worker.run(spec, run, job.params, job.env, job.progress_interval,
                             record_params=True)  # fmt: skip
    finally:
        worker.runtime.close()  # flushes every event before the process ends
    if outcome.status != "succeeded":
        print(f"hoist: run {run.id} {outcome.status}: {outcome.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
