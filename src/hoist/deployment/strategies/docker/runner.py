"""``DockerRunner``: the callable in a Docker container built from a generated Dockerfile,
called over HTTP on a loopback port.

`DockerRunner.prepare` writes the build context (a copy of the code, ``Dockerfile``,
``hoist_server.py``); `DockerRunner.prove` serves the image's CMD with the ``process``
strategy here, before any build. With a reachable engine (``docker info`` succeeds),
`DockerRunner.start` proves, builds (``docker build``), runs (``docker run -p
127.0.0.1:PORT:8000``) and waits for ``/health``; without one it raises
`EngineUnavailableError` naming the engine's error and how to provide one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist._net import free_port
from hoist.deployment.base import Runner, refuse_action_or_app
from hoist.deployment.envelope import error_envelope, http_envelope
from hoist.deployment.strategies.docker.context import (
    CONTAINER_PORT,
    build_context,
    prove,
)
from hoist.errors import (
    AdaptationError,
    DeploymentError,
    DeploymentNotReadyError,
    EngineUnavailableError,
)

if TYPE_CHECKING:
    from hoist.deployment.records import DeploymentRecord

__all__ = ["DockerRunner"]

STRATEGY = "docker"
_LOG_TAIL = 64 * 1024
ENGINE_HOW = (
    "start the Docker daemon (`sudo systemctl start docker`, or `dockerd &` as root) or set "
    "DOCKER_HOST to a reachable engine (e.g. unix:///var/run/docker.sock or ssh://user@host), "
    "then check that `docker info` succeeds"
)
CLIENT_HOW = "install the Docker CLI (docs.docker.com/engine/install) or set the strategy " \
    "setting `command` to the docker executable"  # fmt: skip


class DockerRunner(Runner):
    """Build and run ``module:callable`` of a code folder as a Docker container.

    Args:
        code_path: the code folder (copied into the build context; never touched).
        module: the module holding the callable (``main`` → ``main.py``).
        callable: the function called with the inputs dict.
        env_vars: environment variables of the container (passed as ``-e NAME``: the values
            go through the docker client's environment, never its command line or a file).
        timeout: seconds one call may take.
        log_path: where the build's and the container's output are appended.
        command: the docker executable (``docker`` on PATH by default).
        image: the image's tag (default ``hoist-<folder>:<hash of the context>``).
        port: the loopback port published (None: a free one).
        prove: serve the CMD with the process strategy before building.
        smoke_inputs: inputs of one call during the proof.
        workdir: where the build context is written (a temporary folder by default).
        startup_timeout: seconds the container may take to answer ``/health``.
        build_timeout: seconds ``docker build`` may take.
        **kwargs: ignored (``action``/``app`` must be None: a callable only).
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
        log_path: str | os.PathLike[str] | None = None,
        command: str | None = None,
        image: str | None = None,
        port: int | None = None,
        prove: bool = True,
        smoke_inputs: dict[str, Any] | None = None,
        workdir: str | None = None,
        startup_timeout: float = 120.0,
        build_timeout: float = 1800.0,
        **kwargs: Any,
    ) -> None:
        refuse_action_or_app(STRATEGY, action, app)
        self.code_path = str(Path(code_path).resolve()) if code_path else None
        self.module, self.callable = module, callable
        self.env_vars = dict(env_vars or {})
        self.timeout = timeout
        self.log_path = None if log_path is None else Path(log_path)
        self.command = command
        self.image = image
        self.port = port
        self.prove_first = prove
        self.smoke_inputs = smoke_inputs
        self.workdir = workdir
        self.startup_timeout = startup_timeout
        self.build_timeout = build_timeout
        self.endpoint: str | None = None
        self.context: Path | None = None
        self.container: str | None = None
        self._own_dir: Path | None = None
        self._logs = ""
        self._client: Any = None

    # ------------------------------------------------------------------ the engine
    @classmethod
    def missing(cls, command: str | None = None, **settings: Any) -> str | None:
        """What deploying needs that is not here (the docker client, a reachable engine),
        with how to provide it; None when ``docker info`` succeeds."""
        gap = _engine_gap(command)
        return None if gap is None else f"{gap[0]}; {gap[1]}"

    @classmethod
    def attach(cls, record: DeploymentRecord) -> Runner | None:
        """A runner for the container ``record``'s deployment runs (its name comes from the
        code folder and the published port): calls, health, ``docker logs`` and ``stop``
        (``docker rm -f``) from any process on this host; None without an endpoint."""
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", record.endpoint or "")
        code_path = record.config.get("code_path")
        if match is None or not code_path:
            return None
        settings = record.config.get("settings") or {}
        runner = cls(code_path=code_path, module=record.config.get("module", "main"),
                     callable=record.config.get("callable", "predict"),
                     command=settings.get("command"))  # fmt: skip
        import httpx

        runner.endpoint = record.endpoint
        runner.container = _container_name(Path(code_path).name, int(match.group(1)))
        runner._client = httpx.Client(base_url=str(record.endpoint), timeout=runner.timeout)
        return runner

    @classmethod
    def adapter_check(cls, adapted_path: str, inputs: dict[str, Any] | None = None,
                      **config: Any) -> list[str]:  # fmt: skip
        """The adapter's strategy check of an adapted copy: the Dockerfile's CMD proven with
        the process strategy (`prove`), one call given ``inputs``; the checks passed.

        Raises:
            AdaptationError: the proof failed; ``smoke`` also when the call answers an error.
        """
        runner = cls(**{**config, "code_path": adapted_path})
        try:
            envelope = runner.prove(inputs)
        finally:
            runner.stop()
        if envelope is not None and envelope.get("status") != "success":
            message = f"check smoke: the CMD's app answered {envelope}"
            raise AdaptationError(message, strategy=STRATEGY, check="smoke", path="hoist_server.py")
        return ["command"] + (["smoke"] if inputs is not None else [])

    def _docker(self) -> str:
        found = shutil.which(self.command or "docker")
        if found is None:
            raise EngineUnavailableError(f"the docker command ({self.command or 'docker'!r})",
                                         strategy=STRATEGY, how=CLIENT_HOW)  # fmt: skip
        return found

    # ------------------------------------------------------------------ build context
    def prepare(self) -> Path:
        """Write the build context: the code, ``Dockerfile``, ``hoist_server.py`` and
        ``.dockerignore`` (a file of that name the code has is kept). Returns its folder.

        Raises:
            DeploymentError: no code folder.
        """
        if not self.code_path:
            raise DeploymentError("the docker strategy needs a code folder", strategy=STRATEGY)
        self._remove_context()
        root = (
            Path(self.workdir) if self.workdir else Path(tempfile.mkdtemp(prefix="hoist-docker-"))
        )
        root.mkdir(parents=True, exist_ok=True)
        if not self.workdir:
            self._own_dir = root
        target = root / _slug(Path(self.code_path).name)
        if target.exists():
            shutil.rmtree(target)
        build_context(self.code_path, target, self.module, self.callable)
        self.context = target
        return target

    def prove(self, inputs: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Serve the Dockerfile's CMD (``uvicorn hoist_server:app``) with the process
        strategy from the build context, with the env_vars; one call given ``inputs``.

        Returns:
            The call's envelope (None without inputs).

        Raises:
            AdaptationError: the CMD cannot be proven or does not serve.
        """
        context = self.context if self.context is not None else self.prepare()
        log = None if self.log_path is None else str(self.log_path)
        return prove(context, self.env_vars, inputs, timeout=self.startup_timeout, log_path=log)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Prove the CMD, build the image, run the container and wait for ``/health``.

        Raises:
            EngineUnavailableError: no docker client, or ``docker info`` fails.
            AdaptationError: the proof failed.
            DeploymentError: the build or the container failed (output's tail included;
                nothing is left running).
            DeploymentNotReadyError: no ``/health`` within ``startup_timeout``.
        """
        if self.container is not None and self.is_healthy():
            return
        gap = _engine_gap(self.command)
        if gap is not None:
            raise EngineUnavailableError(gap[0], strategy=STRATEGY, how=gap[1])
        docker = self._docker()
        context = self.prepare()
        if self.prove_first:
            self.prove(self.smoke_inputs)
        image = self.image or f"{_slug(context.name)}:{_digest(context)}"
        self._exec([docker, "build", "-t", image, str(context)], self.build_timeout, "build")
        port = self.port or free_port()
        name = _container_name(context.name, port)
        env_args = [arg for key in sorted(self.env_vars) for arg in ("-e", key)]
        publish = f"127.0.0.1:{port}:{CONTAINER_PORT}"
        run = [docker, "run", "-d", "--name", name, "-p", publish, *env_args, image]
        self._exec(run, 120.0, "run")
        self.container = name
        self.endpoint = f"http://127.0.0.1:{port}"
        try:
            self._wait_healthy(docker)
        except BaseException:
            self.stop()
            raise

    def _exec(self, command: list[str], timeout: float, what: str) -> str:
        env = {**os.environ, **self.env_vars}
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=timeout, check=False)  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise DeploymentError(f"`docker {what}` took over {timeout:g} s",
                                  strategy=STRATEGY) from exc  # fmt: skip
        output = done.stdout + done.stderr
        self._append_log(f"$ docker {' '.join(command[1:])}\n{output}")
        if done.returncode != 0:
            tail = "\n".join(f"  {line}" for line in output.strip().splitlines()[-15:])
            raise DeploymentError(f"`docker {what}` failed (exit {done.returncode}):\n"
                                  f"{tail or '  (no output)'}", strategy=STRATEGY)  # fmt: skip
        return done.stdout

    def _wait_healthy(self, docker: str) -> None:
        import httpx

        self._client = httpx.Client(base_url=self.endpoint or "", timeout=self.timeout)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            state = subprocess.run([docker, "inspect", "-f", "{{.State.Running}}",
                                    str(self.container)], capture_output=True, text=True,
                                   check=False).stdout.strip()  # fmt: skip
            if state != "true":
                logs = self._container_logs(docker)
                raise DeploymentError(f"the container {self.container} exited before it was "
                                      f"healthy; its output ends:\n{logs[-2000:]}",
                                      strategy=STRATEGY)  # fmt: skip
            if self.is_healthy():
                return
            time.sleep(0.2)  # polling the container's state between health checks
        raise DeploymentNotReadyError(str(self.container), strategy=STRATEGY,
                                      timeout=self.startup_timeout)  # fmt: skip

    def _container_logs(self, docker: str) -> str:
        done = subprocess.run([docker, "logs", "--tail", "500", str(self.container)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        return done.stdout + done.stderr

    def _append_log(self, text: str) -> None:
        self._logs = (self._logs + text)[-_LOG_TAIL:]
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as log:
                log.write(text)

    def stop(self) -> None:
        """Keep the container's output, remove the container (``docker rm -f``) and the
        build context; idempotent (the image is kept for a redeploy)."""
        container, self.container = self.container, None
        if self._client is not None:
            self._client.close()
            self._client = None
        docker = shutil.which(self.command or "docker")
        if container is not None and docker is not None:
            self.container = container
            self._append_log(self._container_logs(docker))
            self.container = None
            subprocess.run([docker, "rm", "-f", container], capture_output=True, check=False)
        self._remove_context()

    def close(self) -> None:
        """Close the HTTP client (the container keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _remove_context(self) -> None:
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = self.context = None

    # ------------------------------------------------------------------ calls
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """POST ``inputs`` to the container's ``/predict`` (starting it first if needed).

        Returns:
            The container's envelope; an error envelope when it cannot be started or reached.
        """
        if self._client is None:
            try:
                self.start()
            except DeploymentError as exc:
                return error_envelope(type(exc).__name__, str(exc))
        import httpx

        try:
            answer = self._client.post("/predict", json=inputs)
        except httpx.TimeoutException:
            return error_envelope("TimeoutError", f"{self.endpoint} did not answer within "
                                                  f"{self.timeout:g} s")  # fmt: skip
        except httpx.TransportError as exc:
            return error_envelope("ServerError", f"the container {self.container} failed the "
                                                 f"call: {exc!r}")  # fmt: skip
        return http_envelope(answer)

    def is_healthy(self) -> bool:
        """Whether the container answers ``GET /health`` with 200."""
        if self._client is None:
            return False
        try:
            return bool(self._client.get("/health", timeout=2.0).status_code == 200)
        except Exception:
            return False

    def get_logs(self) -> str:
        """The build's output and the container's (``docker logs``) so far."""
        docker = shutil.which(self.command or "docker")
        if self.container is not None and docker is not None:
            return (self._logs + self._container_logs(docker))[-_LOG_TAIL:]
        return self._logs


def _engine_gap(command: str | None) -> tuple[str, str] | None:
    docker = shutil.which(command or "docker")
    if docker is None:
        return f"the docker command ({command or 'docker'!r} is not on PATH)", CLIENT_HOW
    try:
        done = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return "a Docker engine (`docker info` did not answer within 30 s)", ENGINE_HOW
    if done.returncode == 0:
        return None
    error = " ".join((done.stderr or done.stdout).split())[-400:] or f"exit {done.returncode}"
    host = os.environ.get("DOCKER_HOST") or "the default socket"
    return f"a reachable Docker engine at {host} (`docker info`: {error})", ENGINE_HOW


def _container_name(folder: str, port: int) -> str:
    return f"{_slug(folder)}-{port}"


def _slug(name: str) -> str:
    """``hoist-<name>`` as Docker accepts in image and container names."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-._") or "app"
    return f"hoist-{slug}"[:100]


def _digest(context: Path) -> str:
    """A short hash of the build context's files (the image tag)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
