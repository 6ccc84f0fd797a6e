"""The one boundary between Hoist and Ray: importing it, connecting, leaving in order,
mapping its errors.

With no address configured Hoist starts a small private Ray on loopback (``ray.init``
with ``num_cpus`` from settings and token auth off, since only this machine can reach
it). With an address (``HOIST_RAY_ADDRESS`` / ``--ray-address``) it connects to that
cluster; a cluster started by ``ray start --head`` on Ray 2.60 has token authentication
on, so the driver needs the cluster's token (``RAY_AUTH_TOKEN``) unless the cluster was
started with ``RAY_AUTH_MODE=disabled``.

Ray's exceptions become Hoist's in :func:`map_ray_error` only (most specific first):

    RuntimeEnvSetupError, or an actor that died setting up its runtime env
                                        → ActionFailedError (error_type RuntimeEnvSetupError)
    TaskCancelledError, or a call the run's cancel stopped
                                        → RunCancelledError
    the worker, its node, its object or the cluster gone (RayActorError,
    WorkerCrashedError, NodeDiedError, LocalRayletDiedError, ObjectLostError,
    RayChannelError, RayTaskError of an infrastructure task, RpcError)
                                        → RunLostError
    anything else                       → None (the caller re-raises it unchanged)
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

from hoist.errors import (
    ActionFailedError,
    HoistError,
    MissingExtraError,
    RunCancelledError,
    RunLostError,
)

__all__ = [
    "RayUnavailableError",
    "disconnect",
    "ensure_ray",
    "import_ray",
    "in_ray_actor",
    "is_loopback",
    "map_ray_error",
    "on_disconnect",
    "on_this_machine",
    "runtime_env_reason",
]

_lock = threading.Lock()
_log = logging.getLogger("hoist.executors.ray")
_exit_registered = False
_hooks: list[weakref.WeakMethod[Callable[[], None]]] = []


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

    Idempotent: an existing connection is reused. ``'auto'`` means what it means to
    Ray: the cluster ``RAY_ADDRESS`` names, else the one running on this machine.

    Raises:
        RayUnavailableError: the address does not answer within ``timeout`` seconds.
    """
    if address == "auto":
        address = _auto_address()
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
            from hoist._net import free_port

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
        _watch(ray)
    return ray


def _auto_address() -> str:
    found = os.environ.get("RAY_ADDRESS")
    if found:
        return found
    import_ray()
    from ray._private.services import get_ray_address_from_environment

    try:
        resolved = get_ray_address_from_environment("auto", None)
    except ConnectionError as exc:
        raise RayUnavailableError(f"address 'auto': {exc}") from None
    return str(resolved)


def on_disconnect(hook: Callable[[], None]) -> None:
    """Run ``hook`` (a bound method: an executor's teardown of its compiled graphs and
    actors) before this process leaves its Ray cluster, while the cluster still answers.

    Held weakly: an executor that is gone needs no teardown.
    """
    with _lock:
        _hooks.append(weakref.WeakMethod(hook))


def disconnect(address: str | None = None) -> None:
    """Leave the Ray cluster in order: every :func:`on_disconnect` hook (compiled graphs
    and actors) first, then ``ray.shutdown()``; runs at exit too, before Ray's own exit
    handler.

    Ray aborts a driver that is still connected a minute after its cluster went away
    ("Failed to connect to GCS ... The program will terminate"); a driver that has left
    is never aborted. A cluster that no longer answers is left at once (its actors are
    gone with it; the hooks then only forget them). With ``address``: only when
    connected to that cluster. A no-op when not connected.
    """
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return
    connected = _connected_address(ray)
    if address is not None and not _same_cluster(ray, address):
        return
    with _lock:
        hooks = [hook for ref in _hooks if (hook := ref()) is not None]
        _hooks.clear()
    if not _reachable(connected, 1):
        ray.shutdown()  # lost: nothing left to tear down in order
    for hook in hooks:
        with contextlib.suppress(Exception):  # leaving must not stop at one owner
            hook()
    ray.shutdown()


LOST_AFTER = 15.0
"""Seconds a connected cluster may stay unreachable before this process leaves it (Ray
aborts the process after 60)."""


def _watch(ray: Any) -> None:
    """Watch the cluster just connected to: leave it (:func:`disconnect`) once it has not
    answered for :data:`LOST_AFTER` seconds, so that losing a cluster ends its runs
    ``lost`` instead of aborting this process. Also leave in order at exit."""
    global _exit_registered
    address = _connected_address(ray)
    if not _exit_registered:
        _exit_registered = True
        atexit.register(disconnect)  # after Ray's own handler, so it runs first

    def watch() -> None:
        down_since: float | None = None
        while ray.is_initialized() and _connected_address(ray) == address:
            if _reachable(address, 1):
                down_since = None
            elif down_since is None:
                down_since = time.monotonic()
            elif time.monotonic() - down_since > LOST_AFTER:
                _log.warning("the Ray cluster at %s stopped answering: leaving it", address)
                disconnect(address)
                return
            time.sleep(1)

    if address != "another address":
        threading.Thread(target=watch, name="hoist-ray-watch", daemon=True).start()


def map_ray_error(
    exc: BaseException,
    run_id: str,
    *,
    worker: str = "the Ray worker running it",
    cancelled: bool = False,
) -> HoistError | None:
    """The Hoist error for a Ray exception met while waiting on a run's worker.

    Args:
        exc: what Ray raised.
        run_id: the run the worker was running.
        worker: names the worker in a lost run's reason ("the Ray actor running the
            pipeline").
        cancelled: the run's cancel was requested: a worker that ended now was stopped.

    Returns:
        ``ActionFailedError`` (the runtime environment could not be set up),
        ``RunCancelledError``, ``RunLostError``; ``None`` when ``exc`` is not one of
        Ray's (or not one that says the worker is gone): the caller re-raises it. Raise
        the answer ``from exc``.
    """
    exceptions = sys.modules.get("ray.exceptions")
    if exceptions is None or isinstance(exc, HoistError):
        return None
    if _runtime_env_failed(exc):
        return ActionFailedError(run_id, "RuntimeEnvSetupError", runtime_env_reason(exc))
    if isinstance(exc, exceptions.TaskCancelledError):
        return RunCancelledError(run_id)
    gone = (
        exceptions.RayActorError, exceptions.WorkerCrashedError, exceptions.NodeDiedError,
        exceptions.LocalRayletDiedError, exceptions.ObjectLostError, exceptions.RayChannelError,
        exceptions.RayTaskError, exceptions.RpcError,
    )  # fmt: skip
    if isinstance(exc, gone):
        if cancelled:
            return RunCancelledError(run_id)
        return RunLostError(run_id, f"{worker} died ({type(exc).__name__})")
    return None


def runtime_env_reason(detail: BaseException | str) -> str:
    """Why a run failed when Ray could not build its worker's runtime environment."""
    if isinstance(detail, BaseException):
        detail = _first_line(detail)
    return (
        f"the worker's runtime environment could not be set up: {str(detail).strip()}. "
        "Check the plugin's requirements (requirements.txt, config.yaml "
        "'requirements') and that the workers can install them."
    )


def _runtime_env_failed(exc: BaseException) -> bool:
    """True when Ray could not build the worker's runtime environment (a requirement that
    does not install), however Ray wraps it."""
    name = type(exc).__name__
    return name == "RuntimeEnvSetupError" or (
        name in ("RayActorError", "ActorDiedError", "ActorUnschedulableError")
        and "runtime env" in str(exc).lower().replace("_", " ")
    )


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    wanted = [line for line in lines if "error" in line.lower() or "failed" in line.lower()]
    return (wanted or lines or [type(exc).__name__])[-1][:500]


def in_ray_actor() -> bool:
    """Whether this code runs inside a Ray actor (a Ray Serve replica, say): Ray is
    imported by then if it does, so this never imports it."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return False
    return ray.get_runtime_context().get_actor_id() is not None


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
