"""``ProcessRunner``: the deployed code behind a uvicorn HTTP server in its own process."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hoist._net import url_host
from hoist.deployment.base import Runner
from hoist.deployment.envelope import http_envelope
from hoist.errors import DeploymentError, DeploymentNotReadyError, MissingExtraError

__all__ = ["ProcessRunner", "request_schema"]

STRATEGY = "process"
_SERVER_MODULE = "hoist.deployment.strategies.process.server"
_LOG_TAIL = 64 * 1024


class ProcessRunner(Runner):
    """Serve a callable, a plugin action or an ASGI app with uvicorn in a subprocess.

    The runner binds the port itself (``port``, or a free one) and hands the listening
    socket to the server, so a port already taken fails :meth:`start` at once with nothing
    started. :meth:`run` POSTs the inputs to ``path`` over one keep-alive connection.

    Args:
        code_path: the code folder (the plugin folder with ``action``).
        module: the module holding the callable (``main`` → ``main.py``).
        callable: the function called with the inputs dict.
        action: a plugin action to serve instead of ``module:callable``.
        app: ``"module:attr"``, an ASGI app (e.g. a ``ServeAPI``) in ``code_path``.
        env_vars: environment variables set in the server's process.
        timeout: seconds one call may take.
        host: the interface to listen on.
        port: the port (``None`` or 0: a free one).
        path: where :meth:`run` POSTs (``/predict``; an app's own route for ``app``).
        startup_timeout: seconds :meth:`start` waits for ``/health``.
        log_level: uvicorn's log level.
        access_log: uvicorn's access log (one line per request).
        shutdown_timeout: seconds :meth:`stop` lets calls in flight finish before the
            server is killed.
        log_path: the file the server's output is appended to (kept after :meth:`stop`);
            without one, a temporary file removed by :meth:`stop`.
        **kwargs: ignored (``resources`` and other strategies' settings).
    """

    def __init__(
        self,
        code_path: str | None = None,
        module: str = "main",
        callable: str = "predict",
        *,
        action: str | None = None,
        app: str | None = None,
        env_vars: dict[str, str] | None = None,
        timeout: float = 300.0,
        host: str = "127.0.0.1",
        port: int | None = None,
        path: str = "/predict",
        startup_timeout: float = 60.0,
        log_level: str = "info",
        access_log: bool = False,
        shutdown_timeout: float = 5.0,
        log_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if action is not None and app is not None:
            raise DeploymentError("give either action or app, not both", strategy=STRATEGY)
        self.code_path = str(Path(code_path).resolve()) if code_path else None
        self.module = module
        self.callable = callable
        self.action = action
        self.app = app
        self.env_vars = dict(env_vars or {})
        self.timeout = timeout
        self.host = host
        self.port = port or 0
        self.path = path
        self.startup_timeout = startup_timeout
        self.log_level = log_level
        self.access_log = access_log
        self.shutdown_timeout = shutdown_timeout
        self.endpoint: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = None if log_path is None else Path(log_path)
        self._log_path: Path | None = None
        self._last_logs = ""
        self._input_schema: dict[str, Any] | None = None
        self._client: Any = None

    @property
    def kind(self) -> str:
        """``action``, ``app`` or ``callable``: what the server serves."""
        return "action" if self.action else "app" if self.app else "callable"

    @property
    def target(self) -> str:
        """The served thing's name, as errors name it."""
        return self.action or self.app or f"{self.module}:{self.callable}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the server and wait until ``GET /health`` answers.

        Raises:
            DeploymentError: the port is taken, or the server exited (its output's tail in
                the message).
            DeploymentNotReadyError: no answer within ``startup_timeout`` (the server is
                stopped).
            MissingExtraError: ``httpx``/``uvicorn`` are not installed.
        """
        if self._process is not None and self._process.poll() is None:
            return
        self._cleanup()
        httpx = _httpx()
        sock = self._bind()
        port = sock.getsockname()[1]
        self.endpoint = f"http://{url_host(self.host)}:{port}"
        try:
            log_file = self._open_log()
        except OSError as exc:
            sock.close()
            raise DeploymentError(
                f"cannot write the server's log file {str(self.log_path)!r}: {exc}",
                strategy=STRATEGY,
            ) from exc
        try:
            with log_file as log:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", _SERVER_MODULE, json.dumps(self._spec(sock))],
                    cwd=self.code_path,
                    env=self._env(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(sock.fileno(),),
                )
        finally:
            sock.close()  # the server holds it now; a dead server closes the port
        self._client = httpx.Client(base_url=self.endpoint, timeout=self.timeout)
        try:
            self._wait_healthy(httpx)
        except BaseException:
            self.stop()
            raise
        self._input_schema = self._read_input_schema()

    def _open_log(self) -> Any:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_path = self.log_path
            return self.log_path.open("ab")
        fd, log_name = tempfile.mkstemp(prefix="hoist-process-", suffix=".log")
        self._log_path = Path(log_name)
        return os.fdopen(fd, "wb")

    def _read_input_schema(self) -> dict[str, Any] | None:
        """The ``path`` request body's schema from ``/openapi.json``, unless generic."""
        if self.kind == "app":
            return None
        try:
            answer = self._client.get("/openapi.json", timeout=5.0)
            return request_schema(answer.json(), self.path)
        except Exception:  # no schema is no error: the caller sends any object
            return None

    def input_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the inputs (a plugin action's params); None for a callable
        or an app (any object), or before the server first started."""
        return self._input_schema

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise DeploymentError(
                    f"port {self.port} on {self.host} is already in use: cannot serve "
                    f"{self.target!r} there (choose another port, or none for a free one)",
                    strategy=STRATEGY,
                ) from exc
            raise DeploymentError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror}", strategy=STRATEGY
            ) from exc
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock

    def _spec(self, sock: socket.socket) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code_path": self.code_path,
            "module": self.module,
            "callable": self.callable,
            "action": self.action,
            "app": self.app,
            "fd": sock.fileno(),
            "log_level": self.log_level,
            "access_log": self.access_log,
            "shutdown_timeout": self.shutdown_timeout,
            "parent": os.getpid(),
        }

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", **self.env_vars}

    def _wait_healthy(self, httpx: Any) -> None:
        # The socket already listens: a request waits in its backlog until uvicorn takes
        # it, so the first answer comes as soon as the server is up (no polling delay).
        deadline = time.monotonic() + self.startup_timeout
        while True:
            remaining = deadline - time.monotonic()
            if self._exited():
                raise DeploymentError(self._exit_message(), strategy=STRATEGY)
            if remaining <= 0:
                raise DeploymentNotReadyError(
                    self.target, strategy=STRATEGY, timeout=self.startup_timeout
                )
            try:
                answer = self._client.get("/health", timeout=min(remaining, 1.0))
            except httpx.TransportError:
                if not self._exited():
                    time.sleep(0.01)  # a reset while the server starts: ask again
                continue
            if answer.status_code == 200:
                return

    def _wait_exit(self, timeout: float) -> None:
        if self._process is not None:
            # Still running after ``timeout``: the failure was the connection's.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout)

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def _exit_message(self) -> str:
        code = None if self._process is None else self._process.returncode
        tail = self.get_logs().strip().splitlines()[-15:]
        output = "\n".join(f"  {line}" for line in tail) or "  (no output)"
        return (
            f"the process server for {self.target!r} exited with code {code} before it "
            f"was healthy; its output ends:\n{output}"
        )

    def stop(self) -> None:
        """End the server (SIGTERM; SIGKILL when it is still there 5 s after
        ``shutdown_timeout``) and close the client."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(self.shutdown_timeout + 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._log_path is not None:
            self._last_logs = self._read_logs(self._log_path)
            if self._log_path != self.log_path:  # a temporary file
                self._log_path.unlink(missing_ok=True)
            self._log_path = None

    # ------------------------------------------------------------------ calls
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """POST ``inputs`` to the server; start it first if it is not running (again).

        Returns:
            The server's envelope; for an app's route, its JSON answer as ``output`` (or
            an error envelope for a non-2xx status).
        """
        if self._exited():
            try:
                self.start()
            except DeploymentError as exc:
                return _error(type(exc).__name__, str(exc))
        httpx = _httpx()
        try:
            answer = self._client.post(self.path, json=inputs)
        except httpx.TimeoutException:
            message = f"{self.target!r} did not answer within the timeout of {self.timeout:g} s"
            return _error("TimeoutError", message)
        except httpx.TransportError as exc:
            # A server that died in the call is seen exited, so the next call restarts it.
            self._wait_exit(2.0)
            message = f"the process server for {self.target!r} failed the call: {exc!r}"
            return _error("ServerError", message)
        return http_envelope(answer)

    def is_healthy(self) -> bool:
        """Whether the server's process runs and ``GET /health`` answers 200."""
        if self._exited() or self._client is None:
            return False
        try:
            return bool(self._client.get("/health", timeout=2.0).status_code == 200)
        except Exception:
            return False

    def get_logs(self) -> str:
        """The tail (64 KiB) of the server's stdout and stderr (kept after :meth:`stop`)."""
        if self._log_path is None:
            return self._last_logs
        return self._read_logs(self._log_path)

    @staticmethod
    def _read_logs(path: Path) -> str:
        try:
            with path.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - _LOG_TAIL))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""


def request_schema(openapi: Any, path: str) -> dict[str, Any] | None:
    """The JSON request body schema of ``POST path`` in an OpenAPI document; None when
    there is none or it is the generic object (``{"type": "object"}`` and a title)."""
    try:
        body = openapi["paths"][path]["post"]["requestBody"]
        schema = body["content"]["application/json"]["schema"]
    except (KeyError, TypeError):
        return None
    if not isinstance(schema, dict) or set(schema) <= {"type", "title"}:
        return None
    if "$ref" in schema:  # a named model: resolve it with its definitions alongside
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        components = openapi.get("components", {}).get("schemas", {})
        resolved = components.get(name)
        if not isinstance(resolved, dict):
            return None
        return {**resolved, "$defs": components} if len(components) > 1 else resolved
    return schema


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": {"type": error_type, "message": message}}


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the server extra is missing
        raise MissingExtraError("server", "httpx") from None
    return httpx
