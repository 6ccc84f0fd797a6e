"""The one boundary between Hoist and Ray: importing it, connecting, mapping its errors.

With no address configured Hoist starts a small private Ray on loopback (``ray.init``
with ``num_cpus`` from settings and token auth off, since only this machine can reach
it). With an address (``HOIST_RAY_ADDRESS`` / ``--ray-address``) it connects to that
cluster; a cluster started by ``ray start --head`` on Ray 2.60 has token authentication
on, so the driver needs the cluster's token (``RAY_AUTH_TOKEN``) unless the cluster was
started with ``RAY_AUTH_MODE=disabled``.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType
from typing import Any

from hoist.errors import HoistError, MissingExtraError

__all__ = ["RayUnavailableError", "ensure_ray", "import_ray", "is_loopback", "on_this_machine"]

_lock = threading.Lock()


class RayUnavailableError(HoistError):
    """Ray could not be reached or started (the message says which address and why)."""

    exit_code = 2


def import_ray() -> ModuleType:
    """``import ray``, or an error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("ray", "ray") from None
    module: ModuleType = ray  # typed the same with or without Ray installed
    return module


def ensure_ray(address: str | None = None, *, num_cpus: int = 2, timeout: float = 30) -> Any:
    """Connect to the cluster at ``address``, or start a private loopback Ray.

    Idempotent: an existing connection is reused.

    Raises:
        RayUnavailableError: the address does not answer within ``timeout`` seconds.
    """
    if address is None or is_loopback(address):
        # Keep Ray on 127.0.0.1 (by default it swaps loopback for the machine's address);
        # this must be set before Ray reads its constants.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if address is None:
        # Our own private cluster: nothing but this machine can reach it.
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray = import_ray()
    with _lock:
        if ray.is_initialized():
            if address is not None and not _same_cluster(ray, address):
                raise RayUnavailableError(
                    f"this process is already connected to the Ray cluster at "
                    f"{_connected_address(ray)}; a process uses one cluster, so {address} "
                    "needs its own process"
                )
            return ray
        if address is not None and not _reachable(address, timeout):
            raise RayUnavailableError(
                f"no Ray cluster answers at {address}: start one with `ray start --head` "
                "or fix HOIST_RAY_ADDRESS / --ray-address"
            )
        kwargs: dict[str, Any] = {
            "log_to_driver": False,
            "configure_logging": False,
            "include_dashboard": False,
        }
        if address is None:
            # "local" starts our own cluster; None would join any cluster Ray finds
            # recorded on this machine (another user's, another test's).
            # Its dashboard (which serves the Jobs API) listens on loopback only.
            from hoist.executors.ray.cluster import free_port

            kwargs.update(
                address="local", num_cpus=num_cpus, _node_ip_address="127.0.0.1",
                include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=free_port(),
            )  # fmt: skip
        else:
            kwargs.pop("include_dashboard")
            kwargs["address"] = address
            if is_loopback(address):
                kwargs["_node_ip_address"] = "127.0.0.1"
        try:
            ray.init(**kwargs)
        except Exception as exc:
            where = address or "a new local Ray"
            raise RayUnavailableError(f"cannot start or reach {where}: {exc}") from exc
    return ray


def on_this_machine(address: str | None) -> bool:
    """True for no address (a private local Ray) or an address on loopback, whether a
    GCS address (``host:port``, ``ray://host:port``) or a dashboard URL."""
    if address is None:
        return True
    return is_loopback(address.split("://", 1)[-1].split("/", 1)[0])


def is_loopback(address: str) -> bool:
    """True for an address on this machine's loopback interface."""
    host = address.removeprefix("ray://").rpartition(":")[0]
    return host in ("127.0.0.1", "localhost", "::1", "[::1]")


def _reachable(address: str, timeout: float) -> bool:
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=min(timeout, 5)):
            return True
    except (OSError, ValueError):
        return False


def _connected_address(ray: Any) -> str:
    try:
        return str(ray.get_runtime_context().gcs_address)
    except Exception:
        return "another address"


def _same_cluster(ray: Any, address: str) -> bool:
    connected = _connected_address(ray)
    if connected == "another address":
        return True  # cannot tell: keep the connection
    wanted = address.removeprefix("ray://")
    if wanted in ("auto", connected):
        return True
    host, _, port = wanted.rpartition(":")
    c_host, _, c_port = connected.rpartition(":")
    return port == c_port and (host == c_host or (is_loopback(wanted) and is_loopback(connected)))
