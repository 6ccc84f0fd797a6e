"""The `local` strategy: the callable (or a plugin action) in its own Python subprocess.

The worker (:mod:`hoist.deployment.strategies.local.worker`) has its own interpreter and
modules: the deployed code is never imported into the caller, two deployments whose code
folders both hold a ``main.py`` never see each other's, and ``env_vars`` are the real
environment of the worker. Calls travel as length-prefixed pickles over two pipes, one at
a time. A call that overruns ``timeout`` kills the worker (which is started afresh at
once); a worker that dies answers an error for that call and is restarted by the next one.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import weakref
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hoist.deployment.base import Runner
from hoist.errors import EntryPointError, UserInputError

__all__ = ["LocalRunner"]

_WORKER = "hoist.deployment.strategies.local.worker"
_PICKLE = pickle.HIGHEST_PROTOCOL


class LocalRunner(Runner):
    """Runs ``module:callable`` from ``code_path`` (or the plugin ``action`` of the plugin
    folder ``code_path``) in a worker subprocess.

    The callable is called with the inputs dict (``predict(inputs)``); a plugin action
    gets the inputs as its params, validated first (an invalid field answers an error
    envelope naming it, with ``field_errors``).

    Args:
        code_path: the code folder (the worker's working directory and first import
            path), or the plugin folder with ``action``.
        module: the module holding the callable (dotted).
        callable: the function to call.
        action: a plugin action to run instead of ``module:callable``.
        env_vars: set in the worker's environment (on top of the caller's).
        timeout: seconds one call may take before the worker is killed and restarted.
        start_timeout: seconds the worker may take to import the code and be ready.
        log_chars: how much of the worker's output ``get_logs`` keeps (the tail).
        log_path: a file the worker's output is appended to as well (its folder made).
        **kwargs: other keywords (``app``, ``resources``, other strategies' settings);
            ignored, except that ``app`` is refused (the ``process`` strategy serves apps).

    Raises:
        UserInputError: ``code_path`` is not a folder, an ``action`` without a
            ``code_path``, an ``app``, or a ``timeout`` that is not positive.
    """

    def __init__(
        self,
        code_path: str | os.PathLike[str] | None = None,
        module: str = "main",
        callable: str = "predict",  # the contract's keyword (Kapso's runners)
        action: str | None = None,
        env_vars: dict[str, str] | None = None,
        timeout: float = 300.0,
        start_timeout: float = 60.0,
        log_chars: int = 64_000,
        log_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if code_path is not None and not Path(code_path).is_dir():
            raise UserInputError(f"local strategy: code_path {str(code_path)!r} is not a folder")
        if action and code_path is None:
            raise UserInputError(
                f"local strategy: action {action!r} needs code_path, the plugin folder"
            )
        if kwargs.get("app"):
            raise UserInputError(
                "local strategy runs a callable or a plugin action, not an app"
                f" ({kwargs['app']!r}): deploy apps with the 'process' strategy"
            )
        if timeout is None or timeout <= 0:
            raise UserInputError(f"local strategy: timeout must be > 0 seconds, got {timeout!r}")
        self.code_path = None if code_path is None else str(Path(code_path).resolve())
        self.module, self.callable, self.action = module, callable, action
        self.env_vars = {str(k): str(v) for k, v in (env_vars or {}).items()}
        self.timeout, self.start_timeout = float(timeout), float(start_timeout)
        self._lock = threading.Lock()
        self._logs: deque[str] = deque()
        self._log_size, self._log_chars = 0, log_chars
        self._log_lock = threading.Lock()
        self.log_path = None if log_path is None else Path(log_path)
        self._worker: _Worker | None = None
        self._input_schema: dict[str, Any] | None = None

    @property
    def target(self) -> str:
        """What the runner runs, for messages: ``module:callable`` or ``action <name>``."""
        return f"action {self.action}" if self.action else f"{self.module}:{self.callable}"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the worker and wait until it has loaded the code; idempotent.

        Raises:
            EntryPointError: the code cannot be loaded (the worker's error named), or the
                worker exited or stayed silent past ``start_timeout`` before it was ready.
        """
        with self._lock:
            self._ensure_started()

    def stop(self) -> None:
        """End the worker (its pipes closed, then killed if it lingers); idempotent."""
        with self._lock:
            self._discard()

    def is_healthy(self) -> bool:
        """Whether the worker is running and ready."""
        worker = self._worker
        return worker is not None and worker.proc.poll() is None

    def get_logs(self) -> str:
        """The tail of the worker's stdout and stderr (every worker this runner started)."""
        with self._log_lock:
            return "".join(self._logs)

    def input_schema(self) -> dict[str, Any] | None:
        """A plugin action's params schema (as its worker reported it when ready); None
        for a callable, or before the worker first started."""
        return self._input_schema

    # ------------------------------------------------------------------ calls
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Call the target with ``inputs`` in the worker; answer the envelope.

        A worker that is not running is started first (a start failure is the error
        answered); an overrun kills and restarts it and answers a ``TimeoutError``; a
        worker that dies during the call answers a ``WorkerCrashedError``.
        """
        with self._lock:
            try:
                worker = self._ensure_started()
            except EntryPointError as exc:
                return _error("EntryPointError", str(exc))
            try:
                payload = pickle.dumps(inputs, _PICKLE)
            except Exception as exc:  # unpicklable inputs are the caller's
                return _error("TypeError", f"the inputs cannot be sent to the worker: {exc}")
            try:
                worker.requests.send_bytes(payload)
                if not worker.replies.poll(self.timeout):
                    self._discard(kill=True)
                    message = (
                        f"{self.target} took longer than the timeout of {self.timeout:g}s;"
                        " the worker was restarted"
                    )
                    self._restart_quietly()
                    return _error("TimeoutError", message)
                return pickle.loads(worker.replies.recv_bytes())  # type: ignore[no-any-return]
            except (EOFError, OSError):
                return _error("WorkerCrashedError", self._crash_message(worker))

    # ------------------------------------------------------------------ internals
    def _ensure_started(self) -> _Worker:
        worker = self._worker
        if worker is not None and worker.proc.poll() is None:
            return worker
        self._discard()
        if self.log_path is not None:
            with self._log_lock:
                self._write_log_file("")  # the file exists from the start
        worker = _Worker.spawn(self)
        self._worker = worker
        spec = {
            "code_path": self.code_path,
            "module": self.module,
            "callable": self.callable,
            "action": self.action,
        }
        try:
            worker.requests.send_bytes(pickle.dumps(spec, _PICKLE))
            if not worker.replies.poll(self.start_timeout):
                raise EntryPointError(
                    self.target, f"the worker was not ready within {self.start_timeout:g}s"
                )
            answer = pickle.loads(worker.replies.recv_bytes())
        except (EOFError, OSError):
            self._discard()
            raise EntryPointError(
                self.target, self._crash_message(worker, when="before it was ready")
            ) from None
        except EntryPointError:
            self._discard()
            raise
        if answer.get("status") != "ready":
            self._discard()
            error = answer.get("error") or {}
            raise EntryPointError(self.target, f"{error.get('type')}: {error.get('message')}")
        self._input_schema = answer.get("input_schema")
        return worker

    def _restart_quietly(self) -> None:
        # On failure the next call starts it again and answers the error.
        with contextlib.suppress(EntryPointError):
            self._ensure_started()

    def _discard(self, *, kill: bool = False) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.close(kill=kill)

    def _crash_message(self, worker: _Worker, when: str = "during the call") -> str:
        code = worker.wait_exit()
        self._discard()
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        tail = self.get_logs().strip().splitlines()[-5:]
        detail = ("; last output:\n" + "\n".join(tail)) if tail else ""
        return f"the worker running {self.target} {how} {when}{detail}"

    def _append_log(self, text: str) -> None:
        with self._log_lock:
            if self.log_path is not None:
                self._write_log_file(text)
            self._logs.append(text)
            self._log_size += len(text)
            while self._log_size > self._log_chars and len(self._logs) > 1:
                self._log_size -= len(self._logs.popleft())

    def _write_log_file(self, text: str) -> None:
        assert self.log_path is not None
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(text)
        except OSError as exc:  # the tail still has it; say once why the file does not
            self.log_path = None
            self._logs.append(f"[hoist] cannot write the log file: {exc}\n")


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"status": "error", "error": {"type": error_type, "message": message}}


class _Worker:
    """One worker process: its pipes and the thread that reads its output."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        requests: Connection,
        replies: Connection,
        reader: threading.Thread,
    ) -> None:
        self.proc, self.requests, self.replies, self.reader = proc, requests, replies, reader
        # A runner dropped without stop() leaves no worker behind.
        self._finalizer = weakref.finalize(self, _kill, proc)

    @classmethod
    def spawn(cls, runner: LocalRunner) -> _Worker:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        log_r, log_w = os.pipe()
        env = {**os.environ, **runner.env_vars}
        # -P: no working directory on sys.path ahead of hoist; the worker adds code_path itself.
        command = [sys.executable, "-P", "-m", _WORKER, str(req_r), str(rep_w)]
        try:
            proc = subprocess.Popen(
                command,
                cwd=runner.code_path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_w,
                stderr=log_w,
                pass_fds=(req_r, rep_w),
            )
        except BaseException:
            for fd in (req_r, req_w, rep_r, rep_w, log_r, log_w):
                os.close(fd)
            raise
        for fd in (req_r, rep_w, log_w):
            os.close(fd)
        reader = threading.Thread(target=_pump, args=(log_r, weakref.ref(runner)), daemon=True)
        reader.start()
        return cls(
            proc, Connection(req_w, readable=False), Connection(rep_r, writable=False), reader
        )

    def wait_exit(self) -> int | None:
        """The worker's exit code once it has exited (``None`` if it still runs after 5s)."""
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def close(self, *, kill: bool = False) -> None:
        """Close the request pipe (the worker's cue to exit), then kill it if it lingers
        (at once with ``kill``: a worker stuck in a call)."""
        self.requests.close()
        try:
            if kill:
                raise subprocess.TimeoutExpired(self.proc.args, 0)
            self.proc.wait(1)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
        self.replies.close()
        self.reader.join(5)
        self._finalizer.detach()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _pump(fd: int, runner_ref: weakref.ref[LocalRunner]) -> None:
    """Copy the worker's output into its runner's log tail until the pipe closes."""
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            runner = runner_ref()
            if runner is not None:
                runner._append_log(chunk.decode("utf-8", "replace"))
