"""Ray Serve on a Hoist Ray connection: started once, reused, its applications watched.

:func:`ensure_serve` connects to Ray through `hoist.executors.ray.connect.ensure_ray` (a
private loopback head when no address is given), starts Serve with its HTTP proxy on
loopback on a free port when Serve is not running there yet, and answers the proxy's base
URL; a running Serve instance (and the port it chose) is reused. :func:`app_status` and
:func:`delete_app` read and remove one application by name.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
import warnings
from typing import Any

from hoist.errors import DeploymentError
from hoist.executors.ray.connect import ensure_ray

__all__ = [
    "app_status",
    "delete_app",
    "ensure_serve",
    "proxy_url",
    "replica_error",
    "serve_module",
    "upload_code",
    "wait_running",
]

_STRATEGY = "ray_serve"


def serve_module() -> Any:
    """``ray.serve`` (imported on first use; Ray's ``serve`` extra must be installed).

    Raises:
        DeploymentError: Ray Serve is not installed (naming the package to install).
    """
    try:
        with warnings.catch_warnings():
            # Serve's own schemas use pydantic features deprecated in pydantic 2.
            warnings.simplefilter("ignore", DeprecationWarning)
            from ray import serve
    except ImportError as exc:
        raise DeploymentError(
            f"Ray Serve is not installed ({exc}): pip install 'ray[serve]'", strategy=_STRATEGY
        ) from None
    return serve


def ensure_serve(
    address: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    num_cpus: int = 2,
    timeout: float = 60.0,
) -> str:
    """Connect to Ray and make sure Serve runs there; answer its HTTP proxy's base URL.

    Args:
        address: the Ray cluster (``None``: a private loopback head started here).
        host: the interface the proxy listens on when this call starts Serve.
        port: the proxy's port when this call starts Serve (``None``: a free one).
        num_cpus: CPUs of a private head (``address`` ``None``).
        timeout: seconds to wait for the proxy to listen.

    Returns:
        ``"http://HOST:PORT"`` of the running proxy (a running Serve keeps its own port,
        whatever ``port`` asks).

    Raises:
        RayUnavailableError: Ray cannot be reached or started.
        DeploymentError: Serve is missing, or its proxy does not answer within ``timeout``.
    """
    ensure_ray(address, num_cpus=num_cpus)
    serve = serve_module()
    from ray.serve.context import _get_global_client

    client = _get_global_client(raise_if_no_controller_running=False)
    if client is None:
        from hoist._net import free_port

        chosen = port or free_port()
        serve.start(
            proxy_location="HeadOnly",
            http_options={"host": host, "port": chosen},
        )
        client = _get_global_client()
    url = proxy_url(client)
    _wait_proxy(url, timeout)
    return url


def proxy_url(client: Any) -> str:
    """The base URL of the proxy a Serve controller client describes (a wildcard host
    is reached on loopback)."""
    config = client.http_config
    host = str(config.host or "127.0.0.1")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{int(config.port)}"


def _wait_proxy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # listening ("Route table is not populated yet" before any app)
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            raise DeploymentError(
                f"the Ray Serve proxy at {url} did not answer /-/healthz within {timeout:g} s",
                strategy=_STRATEGY,
            )
        time.sleep(delay)  # the proxy actor is starting; no event to wait on
        delay = min(delay * 2, 0.5)


def app_status(name: str) -> tuple[str, str]:
    """``(status, message)`` of the Serve application ``name`` on the connected cluster.

    ``status`` is Serve's (``DEPLOYING``, ``RUNNING``, ``DEPLOY_FAILED``, ``UNHEALTHY``,
    ``DELETING``...) or ``"NOT_FOUND"``; ``message`` joins the application's message and
    each unhealthy or failed deployment's message.
    """
    serve = serve_module()
    app = serve.status().applications.get(name)
    if app is None:
        return "NOT_FOUND", ""
    parts = [str(app.message)] if app.message else []
    for deployment_name, deployment in app.deployments.items():
        status = str(getattr(deployment.status, "value", deployment.status))
        if deployment.message and status not in ("HEALTHY", "UPDATING"):
            parts.append(f"{deployment_name}: {deployment.message}")
    return str(getattr(app.status, "value", app.status)), "\n".join(parts)


def delete_app(name: str, *, blocking: bool = True) -> None:
    """Delete the Serve application ``name`` (nothing when there is none)."""
    serve = serve_module()
    if name in serve.status().applications:
        serve.delete(name, _blocking=blocking)


def upload_code(folder: str) -> str:
    """Upload the code folder to the connected cluster (once per content) and answer its
    ``gcs://`` URI for a replica's ``runtime_env`` ``working_dir`` (Serve takes only
    remote URIs there; ``.gitignore``/``.rayignore`` and Ray's default excludes apply).

    Raises:
        DeploymentError: the folder cannot be packaged or uploaded.
    """
    import logging

    from ray._private.runtime_env.working_dir import upload_working_dir_if_needed

    try:
        logger = logging.getLogger("hoist.deployment")
        env = upload_working_dir_if_needed(
            {"working_dir": folder}, include_gitignore=True, logger=logger
        )
    except Exception as exc:
        raise DeploymentError(f"cannot upload the code folder {folder}: {exc}",
                              strategy=_STRATEGY) from exc  # fmt: skip
    return str(env["working_dir"])


_FAILED = ("DEPLOY_FAILED", "UNHEALTHY")


def wait_running(name: str, what: str, deadline: float, timeout: float) -> None:
    """Wait until Serve reports application ``name`` ``RUNNING``.

    Args:
        name: the application.
        what: what it serves, as the error names it.
        deadline: ``time.monotonic()`` by which it must run.
        timeout: the seconds ``deadline`` stands for (for the message).

    Raises:
        DeploymentError: it failed (``DEPLOY_FAILED``/``UNHEALTHY``: the replica's own
            exception leads the message), or it did not run by ``deadline``.
    """
    status, message = "NOT_FOUND", ""
    while time.monotonic() < deadline:
        status, message = _light_status(name)
        if status == "RUNNING":
            return
        if status in _FAILED:
            raise DeploymentError(
                f"Ray Serve application {name!r} ({what}) failed to deploy ({status}): "
                f"{replica_error(message)}",
                strategy=_STRATEGY,
            )
        time.sleep(0.05)  # Serve's controller reports by polling only
    raise DeploymentError(
        f"Ray Serve application {name!r} ({what}) was not running after {timeout:g} s "
        f"(status {status}): {replica_error(message)}",
        strategy=_STRATEGY,
    )


def _light_status(name: str) -> tuple[str, str]:
    """`app_status` through the controller's light per-application status (what
    ``serve.run`` polls), not the whole instance's details that ``serve.status`` builds."""
    from ray.serve.context import _get_global_client

    try:
        client = _get_global_client()
        if client is None:
            return "NOT_FOUND", ""
        overview = client.get_serve_status(name)
    except Exception:
        return app_status(name)
    app = overview.app_status
    parts = [str(app.message)] if app.message else []
    for deployment in overview.deployment_statuses:
        status = str(getattr(deployment.status, "value", deployment.status))
        if deployment.message and status not in ("HEALTHY", "UPDATING"):
            parts.append(f"{deployment.name}: {deployment.message}")
    return str(getattr(app.status, "value", app.status)), "\n".join(parts)


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (.+)$")


def replica_error(message: str, lines: int = 12) -> str:
    """Serve's failure message led by the replica's own exception line (``Type: text``,
    the last one in its traceback), then the traceback's last ``lines`` lines."""
    if not message:
        return "no message from Serve"
    text = message.replace("\x1b[36m", "").replace("\x1b[39m", "")
    found = [m for line in text.splitlines() if (m := _EXCEPTION_LINE.match(line.strip()))]
    head = f"{found[-1].group(1)}: {found[-1].group(2)}" if found else text.splitlines()[0]
    tail = "\n".join(f"  {line}" for line in text.strip().splitlines()[-lines:])
    return f"{head}\nServe's message ends:\n{tail}"
