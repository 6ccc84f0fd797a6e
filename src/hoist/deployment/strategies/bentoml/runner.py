"""``BentoMLRunner``: a callable served by the real ``bentoml serve`` (or deployed to
BentoCloud with ``bentoml deploy``), called over HTTP.

The runner generates a BentoML project on a copy of the code (`build.write_project`),
runs the engine's ``bentoml`` command in its own process group on 127.0.0.1 and a free
port, waits for BentoML's ``GET /readyz`` and POSTs the inputs to ``/predict``. Hoist never
imports ``bentoml``: the service runs in the engine's environment (``make engines``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist._net import free_port, url_host
from hoist.deployment.base import Runner, refuse_action_or_app
from hoist.deployment.engines import command_python, find_command
from hoist.deployment.envelope import error_envelope, http_envelope
from hoist.deployment.strategies.bentoml.build import BentoProject, write_project
from hoist.deployment.strategies.bentoml.cloud import (
    cloud_credentials,
    cloud_deploy,
    cloud_terminate,
    require_credentials,
)
from hoist.deployment.strategies.bentoml.local import TextLog, read_tail, stop_group
from hoist.errors import (
    DeploymentError,
    DeploymentNotReadyError,
    EngineUnavailableError,
    MissingExtraError,
)

if TYPE_CHECKING:
    from hoist.deployment.records import DeploymentRecord

__all__ = ["BentoMLRunner"]

STRATEGY = "bentoml"
PREDICT_PATH = "/predict"
READY_PATH = "/readyz"
_COMMAND_HOW = (
    "run `make engines` (it builds .engines/bentoml with bentoml==1.4.40) and put "
    ".engines/bentoml/bin on PATH, or set the strategy setting `command` to a bentoml "
    "executable (`pip install bentoml` in an environment of its own)"
)


class BentoMLRunner(Runner):
    """Serve ``module:callable`` with BentoML.

    Args:
        code_path: the code folder (copied; the original is never written).
        module: the module holding the callable (``main`` → ``main.py``).
        callable: the function called with the inputs dict (sync or async).
        action: a plugin action: refused (its code imports Hoist, which the engine's
            environment does not have); use the ``process`` or ``ray_serve`` strategy.
        app: an ASGI app: refused likewise.
        env_vars: environment variables of the service (``--env`` on BentoCloud).
        timeout: seconds one call may take (BentoML's ``traffic.timeout`` too).
        resources: ``cpu``/``memory``/``gpu`` given to BentoML's ``resources``.
        log_path: the file the engine's output is appended to; the project is generated
            next to it (``<log>.bentoml/``, kept); without one, in a temporary folder.
        command: the ``bentoml`` executable (a path, or a name looked up on PATH).
        target: ``local`` (``bentoml serve`` here) or ``cloud`` (``bentoml deploy``).
        host: the interface ``bentoml serve`` listens on.
        port: its port (``None`` or 0: a free one).
        workers: BentoML worker processes.
        access_log: BentoML's access log (one line per request in the log).
        startup_timeout: seconds :meth:`start` waits for ``/readyz``.
        shutdown_timeout: seconds :meth:`stop` gives the server before killing its group.
        deployment_name: the BentoCloud deployment's name (default: the project's name).
        name: the deployment's name (names the BentoML service); default: the log file's
            folder (the manager's ``deployments/<name>/``), else the code folder's name.
        **kwargs: ignored (other strategies' settings).
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
        resources: dict[str, Any] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        command: str = "bentoml",
        target: str = "local",
        host: str = "127.0.0.1",
        port: int | None = None,
        workers: int = 1,
        access_log: bool = False,
        startup_timeout: float = 120.0,
        shutdown_timeout: float = 10.0,
        deployment_name: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        refuse_action_or_app(STRATEGY, action, app, why="its code needs Hoist, which the "
                             "BentoML engine's environment does not have")  # fmt: skip
        if target not in ("local", "cloud"):
            raise DeploymentError(
                f"settings.target must be 'local' or 'cloud', got {target!r}", strategy=STRATEGY
            )
        if not code_path:
            raise DeploymentError("the bentoml strategy needs a code_path", strategy=STRATEGY)
        self.code_path = Path(code_path).resolve()
        self.module = module
        self.callable = callable
        self.env_vars = {str(k): str(v) for k, v in (env_vars or {}).items()}
        self.timeout = float(timeout)
        self.resources = dict(resources or {})
        self.log_path = None if log_path is None else Path(log_path)
        self.command = command
        self.target_kind = target
        self.host = host
        self.port = port or 0
        self.workers = int(workers)
        self.access_log = bool(access_log)
        self.startup_timeout = float(startup_timeout)
        self.shutdown_timeout = float(shutdown_timeout)
        # the manager keeps a deployment's logs in deployments/<name>/<version>.log
        self.name = name or (self.log_path.parent.name if self.log_path else self.code_path.name)
        self.deployment_name = deployment_name or _cloud_name(self.name)
        self.endpoint: str | None = None
        self.project: BentoProject | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._temp: Path | None = None
        self._logs: Path | None = None
        self._last_logs = ""
        self._client: Any = None

    @property
    def target(self) -> str:
        """``module:callable``, as errors name it."""
        return f"{self.module}:{self.callable}"

    @classmethod
    def engine_python(cls, command: str = "bentoml", **settings: Any) -> str | None:
        """The Python of the bentoml command's environment (where the code runs)."""
        return command_python(command or "bentoml")

    @classmethod
    def missing(
        cls, command: str = "bentoml", target: str = "local", **settings: Any
    ) -> str | None:
        """What this runner needs that is not here (None when it can deploy): the
        ``bentoml`` command, and for ``target: cloud`` BentoCloud credentials."""
        if find_command(command) is None:
            return f"the bentoml command ({command!r} is not found)"
        if target == "cloud" and cloud_credentials() is None:
            return "BentoCloud credentials"
        return None

    @classmethod
    def attach(cls, record: DeploymentRecord) -> Runner | None:
        """An `EndpointRunner` on the record's endpoint with BentoML's ``/readyz``."""
        if not record.endpoint:
            return None
        from hoist.deployment.remote import EndpointRunner

        path = str(record.config.get("predict_path") or PREDICT_PATH)
        return EndpointRunner(record.endpoint, path, READY_PATH, owner=record.owner,
                              strategy=STRATEGY)  # fmt: skip

    # ------------------------------------------------------------------ lifecycle
    def _executable(self) -> str:
        found = find_command(self.command)
        if found is None:
            raise EngineUnavailableError(
                f"the bentoml command ({self.command!r} is not on PATH)",
                strategy=STRATEGY,
                how=_COMMAND_HOW,
            )
        return found

    def _project_folder(self) -> Path:
        if self.log_path is not None:
            return self.log_path.with_suffix(".bentoml")
        if self._temp is None:
            self._temp = Path(tempfile.mkdtemp(prefix="hoist-bentoml-"))
        return self._temp / "project"

    def _write_project(self) -> BentoProject:
        options: dict[str, Any] = {
            "timeout": self.timeout,
            "workers": self.workers,
            "access_log": self.access_log,
        }
        if self.target_kind == "local":
            options["owner_pid"] = os.getpid()  # the server stops when this process is gone
        bento_resources = _bento_resources(self.resources)
        if bento_resources:
            options["resources"] = bento_resources
        self.project = write_project(
            self.code_path, self._project_folder(), name=self.name, module=self.module,
            callable=self.callable, options=options,
        )  # fmt: skip
        return self.project

    def start(self) -> None:
        """Generate the project and serve it (or deploy it to BentoCloud); wait until ready.

        Raises:
            EngineUnavailableError: no ``bentoml`` command (or, for the cloud, no
                credentials).
            DeploymentError: the server exited before it was ready (its output's tail
                in the message; nothing is left running).
            DeploymentNotReadyError: not ready within ``startup_timeout`` (stopped).
        """
        if self.target_kind == "cloud":
            self._start_cloud()
            return
        if self._process is not None and self._process.poll() is None:
            return
        self._close_client()
        executable = self._executable()
        httpx = _httpx()
        project = self._write_project()
        port = self.port or free_port(self.host)
        self.endpoint = f"http://{url_host(self.host)}:{port}"
        argv = [executable, "serve", project.service, "--host", self.host,
                "--port", str(port), "--working-dir", str(project.folder)]  # fmt: skip
        with self._open_log() as log:
            self._process = subprocess.Popen(
                argv, cwd=project.folder, env=self._env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self._client = httpx.Client(base_url=self.endpoint, timeout=self.timeout)
        try:
            self._wait_ready(httpx)
        except BaseException:
            self.stop()
            raise

    def _start_cloud(self) -> None:
        if self.endpoint is not None:
            return
        executable = self._executable()
        require_credentials()
        project = self._write_project()
        with self._open_log() as log:
            wrapper = TextLog(log)
            self.endpoint = cloud_deploy(executable, project.folder, self.deployment_name,
                                         self.env_vars, timeout=self.startup_timeout,
                                         log=wrapper)  # fmt: skip
        self._client = _httpx().Client(base_url=self.endpoint, timeout=self.timeout)

    def _open_log(self) -> Any:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._logs = self.log_path
        elif self._logs is None:
            folder = self._temp or Path(tempfile.mkdtemp(prefix="hoist-bentoml-"))
            self._temp = folder
            self._logs = folder / "bentoml.log"
        try:
            return self._logs.open("ab")
        except OSError as exc:
            raise DeploymentError(
                f"cannot write the server's log file {str(self._logs)!r}: {exc}",
                strategy=STRATEGY,
            ) from exc

    def _env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", "BENTOML_DO_NOT_TRACK": "True",
                **self.env_vars}  # fmt: skip

    def _wait_ready(self, httpx: Any) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._exited():
                raise DeploymentError(self._exit_message(), strategy=STRATEGY)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeploymentNotReadyError(
                    self.target, strategy=STRATEGY, timeout=self.startup_timeout
                )
            try:
                answer = self._client.get(READY_PATH, timeout=min(remaining, 2.0))
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def _exit_message(self) -> str:
        code = None if self._process is None else self._process.returncode
        tail = self.get_logs().strip().splitlines()[-15:]
        output = "\n".join(f"  {line}" for line in tail) or "  (no output)"
        return (
            f"`bentoml serve` of {self.target!r} exited with code {code} before it was "
            f"ready; its output ends:\n{output}"
        )

    def stop(self) -> None:
        """Stop the server's whole process group (SIGTERM, SIGKILL after
        ``shutdown_timeout``), or terminate the BentoCloud deployment; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            stop_group(process, self.shutdown_timeout)
        if self.target_kind == "cloud" and self.endpoint is not None:
            executable = find_command(self.command)
            if executable is not None:
                with self._open_log() as log:
                    cloud_terminate(executable, self.deployment_name, log=TextLog(log))
            self.endpoint = None
        self._close_client()
        if self._logs is not None:
            self._last_logs = read_tail(self._logs)
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp, self._logs = None, None

    def _close_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # ------------------------------------------------------------------ calls
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """POST ``inputs`` to ``/predict`` (starting the server again if it exited)."""
        if self._client is None or (self.target_kind == "local" and self._exited()):
            try:
                self.start()
            except DeploymentError as exc:
                return error_envelope(type(exc).__name__, str(exc))
        httpx = _httpx()
        late = f"{self.target!r} did not answer within the timeout of {self.timeout:g} s"
        try:
            answer = self._client.post(PREDICT_PATH, json=inputs)
        except httpx.TimeoutException:
            return error_envelope("TimeoutError", late)
        except httpx.TransportError as exc:
            return error_envelope("ServerError", f"BentoML failed the call: {exc!r}")
        if answer.status_code == 504:  # BentoML's own traffic.timeout (the same one) came first
            return error_envelope("TimeoutError", late)
        return http_envelope(answer)

    def is_healthy(self) -> bool:
        """Whether the service answers ``GET /readyz`` with 200."""
        if self._client is None or (self.target_kind == "local" and self._exited()):
            return False
        try:
            return bool(self._client.get(READY_PATH, timeout=2.0).status_code == 200)
        except Exception:
            return False

    def get_logs(self) -> str:
        """The tail (64 KiB) of the engine's output (kept after :meth:`stop`)."""
        return self._last_logs if self._logs is None else read_tail(self._logs)


def _bento_resources(resources: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if resources.get("cpu"):
        out["cpu"] = str(resources["cpu"])
    if resources.get("memory"):
        out["memory"] = str(resources["memory"])
    gpu = resources.get("gpu")
    if gpu and gpu is not True:
        out["gpu"] = int(gpu)
    elif gpu is True:
        out["gpu"] = 1
    return out


def _cloud_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return ("hoist-" + cleaned)[:40].rstrip("-")


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the server extra is missing
        raise MissingExtraError("server", "httpx") from None
    return httpx
