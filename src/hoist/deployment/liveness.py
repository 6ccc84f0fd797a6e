"""Which process runs a deployment, and whether it still does.

A record's ``owner`` is ``"<hostname>:<pid>"`` for the process that runs its runner; any
other form (``"ray:<address>"``) is not a process and is never judged by pid. A process
owner on this host whose pid is gone ran a deployment that no longer runs: the manager
marks such records ``stopped`` (`sweep`).
"""

from __future__ import annotations

import os
import socket

from hoist.deployment.records import DeploymentRecord, DeploymentRecords

__all__ = ["local_pid", "owner_exited", "process_owner", "sweep"]


def process_owner() -> str:
    """This process, as records name an owner: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def local_pid(owner: str | None) -> int | None:
    """The pid of ``owner`` when it is a process on this host (``"<this host>:<pid>"``)."""
    host, sep, pid = (owner or "").rpartition(":")
    if not sep or host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def owner_exited(owner: str | None) -> bool:
    """Whether ``owner`` is a process on this host that no longer exists."""
    pid = local_pid(owner)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists (another user's)
        return False
    return False


def sweep(records: DeploymentRecords, record: DeploymentRecord) -> DeploymentRecord:
    """``record``, marked ``stopped`` (health unknown, error saying why) when it is
    ``running`` but its owning process on this host has exited."""
    if record.status != "running" or not owner_exited(record.owner):
        return record
    return records.update(record.name, record.version, status="stopped", health="unknown",
                          error=f"its process {record.owner} exited")  # fmt: skip
