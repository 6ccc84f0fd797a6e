"""``LangGraphRunner``: a graph served by a real LangGraph server (``langgraph dev``, the
in-memory API server of ``langgraph-cli[inmem]``) and called through its HTTP API."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hoist._net import url_host
from hoist.deployment.base import Runner, refuse_action_or_app
from hoist.deployment.engines import command_python, find_command
from hoist.deployment.strategies.langgraph.api import LangGraphAPI, failure_envelope
from hoist.deployment.strategies.langgraph.project import (
    HOW_TO_INSTALL,
    engine_missing,
    write_project,
)
from hoist.deployment.strategies.langgraph.server import (
    dev_command,
    end_group,
    exit_message,
    free_port,
    read_tail,
    server_env,
    spawn_server,
)
from hoist.errors import DeploymentError, DeploymentNotReadyError, EngineUnavailableError

if TYPE_CHECKING:
    from hoist.deployment.records import DeploymentRecord

__all__ = ["LangGraphRunner"]

STRATEGY = "langgraph"


class LangGraphRunner(Runner):
    """Serve a LangGraph graph with ``langgraph dev`` and call it over the server API.

    The code folder holds the graph: a compiled graph (``graph = builder.compile()``), a
    ``StateGraph`` builder (compiled by the server's side) or a plain callable
    ``f(inputs)`` (wrapped in a one-step graph), named by ``module`` and ``callable``.
    :meth:`start` copies the folder (the original is never written), writes
    ``langgraph.json`` and a graph module into the copy, and starts ``langgraph dev``
    (in-memory, no reload, no browser) in its own process group. With ``url``, nothing is
    started: the runner uses the LangGraph server already there.

    :meth:`run` creates a thread (or uses ``thread_id``), runs the graph on it and waits:
    the final state is the output. Each call gets a fresh thread unless ``thread_id``
    is given, so calls do not share state; :meth:`create_thread` makes one to reuse.
    :meth:`stream` yields the run's events as the server streams them.

    Args:
        code_path: the code folder.
        module: the module holding the graph (``main`` → ``main.py``; a LangGraph
            project's is often ``agent``).
        callable: the graph's attribute in ``module`` (``predict``, as every strategy's
            default; a graph is often ``graph``).
        action, app: not supported (a plugin action or an ASGI app is not a graph).
        env_vars: environment variables of the server's process (the graph's nodes see
            them); they win over the code's own ``langgraph.json`` ``env`` mapping.
        timeout: seconds one call (a whole run) may take.
        graph_id: the graph's id on the server (the assistant runs are created on).
        command: the ``langgraph`` command (found on PATH) or its path.
        host: the interface the server listens on.
        port: its port (``None``: a free one).
        url: an existing LangGraph server to use instead of starting one.
        api_key: sent as ``x-api-key`` to ``url`` (LangSmith deployments).
        startup_timeout: seconds :meth:`start` waits for ``GET /ok``.
        stream_mode: what :meth:`stream` asks for (``values``, ``updates``, ...).
        shutdown_timeout: seconds the server gets to exit on :meth:`stop` before SIGKILL.
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
        graph_id: str = "agent",
        command: str = "langgraph",
        host: str = "127.0.0.1",
        port: int | None = None,
        url: str | None = None,
        api_key: str | None = None,
        startup_timeout: float = 120.0,
        stream_mode: Sequence[str] = ("values", "updates"),
        shutdown_timeout: float = 5.0,
        log_path: str | os.PathLike[str] | None = None,
        owner: str | None = None,
        **kwargs: Any,
    ) -> None:
        refuse_action_or_app(STRATEGY, action, app, serves="a graph (or a callable)",
                             instead="process or local")  # fmt: skip
        if not url and not code_path:
            raise DeploymentError(
                "the langgraph strategy needs code_path (the folder holding the graph) or "
                "the setting url (an existing LangGraph server)",
                strategy=STRATEGY,
            )
        if not isinstance(graph_id, str) or not graph_id:
            raise DeploymentError(f"graph_id must be a name, got {graph_id!r}", strategy=STRATEGY)
        self.code_path = str(Path(code_path).resolve()) if code_path else None
        self.module = module
        self.callable = callable
        self.env_vars = dict(env_vars or {})
        self.timeout = timeout
        self.graph_id = graph_id
        self.command = command
        self.host = host
        self.port = port or 0
        self.url = url.rstrip("/") if url else None
        self.api_key = api_key
        self.startup_timeout = startup_timeout
        self.stream_mode = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
        self.shutdown_timeout = shutdown_timeout
        self.log_path = None if log_path is None else Path(log_path)
        self.owner = owner
        self.endpoint: str | None = self.url
        self.last_thread_id: str | None = None
        self.server_pid: int | None = None  # the last server's (its process group's) id
        self._api: LangGraphAPI | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log_file: Path | None = None
        self._last_logs = ""
        self._input_schema: dict[str, Any] | None = None

    @property
    def target(self) -> str:
        """The served graph's name, as errors name it."""
        return self.url or f"{self.module}:{self.callable}"

    @classmethod
    def engine_python(cls, command: str = "langgraph", **settings: Any) -> str | None:
        """The Python of the langgraph command's environment (where the code runs)."""
        return command_python(command or "langgraph")

    @classmethod
    def missing(cls, **settings: Any) -> str | None:
        """What this runner needs that is not here: the ``langgraph`` command (or the
        ``inmem`` extra next to it); None when it can deploy, or when ``url`` names a
        server to use."""
        if settings.get("url"):
            return None
        return engine_missing(str(settings.get("command") or "langgraph"))

    @classmethod
    def attach(cls, record: DeploymentRecord) -> Runner | None:
        """A runner calling the LangGraph server another process started for ``record``
        (its endpoint); it cannot stop that server. None without an endpoint."""
        if not record.endpoint:
            return None
        config = record.config or {}
        settings = config.get("settings") or {}
        return cls(
            url=record.endpoint,
            graph_id=str(settings.get("graph_id") or "agent"),
            timeout=float(config.get("timeout") or 300.0),
            api_key=settings.get("api_key"),
            owner=record.owner or "another process",
        )

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start ``langgraph dev`` (or check ``url``) and wait until ``GET /ok`` answers.

        Raises:
            EngineUnavailableError: the ``langgraph`` command (or its ``inmem`` extra) is
                missing here.
            DeploymentError: the port is taken, the server exited before it was ready
                (its output's tail in the message), or ``url`` does not answer.
            DeploymentNotReadyError: no answer within ``startup_timeout`` (the server is
                stopped).
        """
        if self._ready():
            return
        self._cleanup()
        if self.url is not None:
            self._attach_url()
            return
        missing = engine_missing(self.command)
        if missing is not None:
            raise EngineUnavailableError(missing, strategy=STRATEGY, how=HOW_TO_INSTALL)
        command = find_command(self.command) or self.command
        port = free_port(self.host, self.port, self.target)
        self.endpoint = f"http://{url_host(self.host)}:{port}"
        try:
            self._launch(command, port)
            self._api = LangGraphAPI(self.endpoint, self.graph_id, timeout=self.timeout)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self._input_schema = self._api.input_schema()

    def _attach_url(self) -> None:
        assert self.url is not None
        self._api = LangGraphAPI(self.url, self.graph_id, timeout=self.timeout,
                                 api_key=self.api_key)  # fmt: skip
        if not self._api.ok(timeout=min(self.startup_timeout, 10.0)):
            self._cleanup()
            raise DeploymentError(self._unreachable("GET /ok did not answer 200"),
                                  strategy=STRATEGY)  # fmt: skip
        self.endpoint = self.url
        self._input_schema = self._api.input_schema()

    def _launch(self, command: str, port: int) -> None:
        assert self.code_path is not None
        self._workdir = Path(tempfile.mkdtemp(prefix="hoist-langgraph-"))
        project = self._workdir / "app"
        code_env = write_project(Path(self.code_path), project, module=self.module,
                                 attr=self.callable, graph_id=self.graph_id,
                                 name=self.graph_id)  # fmt: skip
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log_path
        else:
            self._log_file = self._workdir / "server.log"
        argv = dev_command(command, self.host, port)
        env = server_env(code_env, self.env_vars)
        self._process = spawn_server(argv, project, env, self._log_file)
        self.server_pid = self._process.pid

    def _wait_ready(self) -> None:
        assert self._api is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._exited():
                raise DeploymentError(self._exit_message(), strategy=STRATEGY)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeploymentNotReadyError(
                    self.target, strategy=STRATEGY, timeout=self.startup_timeout
                )
            if self._api.ok(timeout=min(remaining, 1.0)):
                return
            time.sleep(0.05)  # the server imports the graph before it listens

    def _exited(self) -> bool:
        return self._process is None or self._process.poll() is not None

    def _ready(self) -> bool:
        if self._api is None:
            return False
        return self.url is not None or not self._exited()

    def _exit_message(self) -> str:
        code = None if self._process is None else self._process.returncode
        return exit_message(self.target, code, self.get_logs())

    def _unreachable(self, why: object) -> str:
        owner = f" ({self.owner} runs it)" if self.owner else ""
        return f"cannot reach the LangGraph server at {self.url}{owner}: {why}"

    def stop(self) -> None:
        """End the server's process group (SIGTERM; SIGKILL after ``shutdown_timeout``)
        and remove the copy of the code. For ``url`` only the connections close.

        Raises:
            DeploymentError: an attached runner (another process's deployment) cannot
                stop that process's server.
        """
        process, self._process = self._process, None
        if process is not None:
            end_group(process, self.shutdown_timeout)
        self._cleanup()
        if self.owner is not None:
            raise DeploymentError(
                f"cannot stop the LangGraph server at {self.url} from this process: "
                f"{self.owner} runs it; stop it there",
                strategy=STRATEGY,
            )

    def close(self) -> None:
        """Close the connections (an attached server keeps running)."""
        self._cleanup()

    def _cleanup(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._log_file is not None:
            self._last_logs = read_tail(self._log_file)
            self._log_file = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # ------------------------------------------------------------------ calls
    def create_thread(self) -> str:
        """A new thread on the server, for :meth:`run` / :meth:`stream` calls that share
        state (``thread_id=``).

        Raises:
            DeploymentError: the server cannot be started or reached.
        """
        api = self._started()
        try:
            return api.create_thread()
        except Exception as exc:
            raise DeploymentError(f"cannot create a thread on {api.url}: {exc}",
                                  strategy=STRATEGY) from exc  # fmt: skip

    def run(self, inputs: dict[str, Any], *, thread_id: str | None = None) -> dict[str, Any]:
        """Run the graph with ``inputs`` on a new thread (or ``thread_id``) and wait.

        Starts the server first when it is not running (again). The thread used is
        ``last_thread_id`` afterwards.

        Returns:
            ``{"status": "success", "output": final state}``, or the error envelope: an
            exception in the graph by its type's name and message; a failed server as
            ``ServerError``/``TimeoutError``/``HTTP <code>``.
        """
        try:
            api = self._started()
            thread = thread_id or api.create_thread()
            self.last_thread_id = thread
            return api.wait(thread, inputs)
        except Exception as exc:
            return failure_envelope(exc, self.timeout)

    def stream(
        self,
        inputs: dict[str, Any],
        *,
        thread_id: str | None = None,
        stream_mode: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Run the graph and yield its events as the server streams them (a generator).

        Each event is ``{"event": name, "data": ...}``: first ``metadata`` (the
        ``run_id``), then one per step and mode asked (``values``: the whole state after
        the step; ``updates``: ``{node: its update}``), and ``end`` is not sent. An error
        (the graph's, or the server's) is an ``error`` event with ``{"error": type,
        "message": ...}``, the last one.

        Args:
            inputs: the graph's input.
            thread_id: a thread to run on (a new one by default).
            stream_mode: the modes (default: the runner's ``stream_mode``).
        """
        modes = self.stream_mode if stream_mode is None else list(stream_mode)
        try:
            api = self._started()
            thread = thread_id or api.create_thread()
            self.last_thread_id = thread
            yield from api.stream(thread, inputs, modes)
        except Exception as exc:
            error = failure_envelope(exc, self.timeout)["error"]
            yield {"event": "error", "data": {"error": error["type"], "message": error["message"]}}

    def _started(self) -> LangGraphAPI:
        if not self._ready():
            self.start()
        assert self._api is not None
        return self._api

    def is_healthy(self) -> bool:
        """Whether the server (its process, when this runner started it) answers
        ``GET /ok``."""
        if not self._ready() or self._api is None:
            return False
        return self._api.ok()

    def input_schema(self) -> dict[str, Any] | None:
        """The graph's input JSON Schema as the server tells it (None when it tells none,
        or before the server first started)."""
        return self._input_schema

    def get_logs(self) -> str:
        """The tail (64 KiB) of the server's output, colours removed (kept after
        :meth:`stop`; ``""`` for a server this runner did not start)."""
        if self._log_file is None:
            return self._last_logs
        return read_tail(self._log_file)
