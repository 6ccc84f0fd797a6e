"""Real storage servers for tests and benchmarks, each on a free loopback port: moto's
S3 server (in its own process), OpenSSH's sshd with throwaway keys, and a threaded HTTP
server over a folder. Each ``start_*`` returns a handle whose ``stop()`` ends it."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from hoist._net import free_port
from tests.waiting import wait_until

__all__ = [
    "HTTPServerHandle",
    "S3Server",
    "SSHServer",
    "free_port",
    "moto_missing",
    "sshd_missing",
    "start_http",
    "start_moto",
    "start_sshd",
]

SSHD = Path("/usr/sbin/sshd")


def _answers(port: int, banner: bytes | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return banner is None or sock.recv(64).startswith(banner)
    except OSError:
        return False


def _spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server logging to ``log`` (a pipe nobody reads would fill and stall it)."""
    with log.open("wb") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


def _started(proc: subprocess.Popen[bytes], log: Path, check: Any, what: str) -> None:
    """Wait until ``check()`` or the process exits (then fail with its log's tail)."""
    wait_until(lambda: proc.poll() is not None or check(), 60, what)
    if proc.poll() is not None:
        raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- S3 (moto) ------------------------------------------------------------------------


def moto_missing() -> str | None:
    """Why moto's server cannot start here, or ``None``."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        return f"moto[server] is not installed ({exc})"
    return None


@dataclass
class S3Server:
    """A running moto S3 server; ``key``/``secret`` are an IAM user's real keys when
    started with ``auth`` (then wrong ones are refused, as on AWS)."""

    endpoint: str
    key: str
    secret: str
    proc: subprocess.Popen[bytes] = field(repr=False)
    log: Path | None = field(default=None, repr=False)

    def client(self) -> Any:
        """A boto3 S3 client with the server's keys."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
        )

    def make_bucket(self, name: str) -> str:
        """Create a bucket (idempotent); its name."""
        with contextlib.suppress(self.client().exceptions.BucketAlreadyOwnedByYou):
            self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        """End the server process (and remove its log)."""
        _stop(self.proc)
        if self.log is not None:
            shutil.rmtree(self.log.parent, ignore_errors=True)


def start_moto(*, auth: bool = True) -> S3Server:
    """Start ``moto_server`` on a free port. With ``auth``, requests are checked against
    moto's IAM: one user with full access is made first and its keys returned."""
    port = free_port()
    env = dict(os.environ)
    # The first three calls (making the user, its key and its policy) go unchecked.
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3" if auth else "inf"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log = Path(tempfile.mkdtemp(prefix="hoist-moto-")) / "moto.log"
    proc = _spawn(command, log, env)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _started(proc, log, lambda: _answers(port), "moto_server")
        key, secret = _iam_user(endpoint) if auth else ("testing", "testing")
    except BaseException:
        _stop(proc)
        raise
    return S3Server(endpoint=endpoint, key=key, secret=secret, proc=proc, log=log)


def _iam_user(endpoint: str) -> tuple[str, str]:
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName="hoist-tests")
    access = iam.create_access_key(UserName="hoist-tests")["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="hoist-tests", PolicyName="all", PolicyDocument=json.dumps(policy))
    return access["AccessKeyId"], access["SecretAccessKey"]


# -- SFTP (OpenSSH) -------------------------------------------------------------------


def sshd_missing() -> str | None:
    """Why a throwaway sshd cannot start here, or ``None``."""
    if not SSHD.exists():
        return f"{SSHD} is missing (openssh-server; scripts/system-deps.sh)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is missing (openssh-client)"
    return None


@dataclass
class SSHServer:
    """A running sshd: log in as ``user`` with the private key ``key_file``."""

    host: str
    port: int
    user: str
    key_file: Path
    other_key_file: Path  # a key the server does not accept
    proc: subprocess.Popen[bytes] = field(repr=False)

    def url(self, path: Path | str) -> str:
        """``sftp://user@127.0.0.1:port/abs/path``."""
        return f"sftp://{self.user}@{self.host}:{self.port}{Path(path).as_posix()}"

    def stop(self) -> None:
        """End sshd."""
        _stop(self.proc)


def start_sshd(folder: Path) -> SSHServer:
    """Start ``sshd -D`` on a free port with a config, host key and user key made in
    ``folder``; public-key login only, for the current user (root included)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "user_key", "other_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)],
            check=True,
        )
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "StrictModes no\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\nMaxStartups 100\nMaxSessions 100\nLogLevel ERROR\n"
    )
    if os.geteuid() == 0:
        # What Debian's service makes at boot; root's sshd refuses to start without it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    command = [str(SSHD), "-D", "-e", "-f", str(config)]
    log = folder / "sshd.log"
    proc = _spawn(command, log)
    try:
        _started(proc, log, lambda: _answers(port, b"SSH-"), "sshd")
    except BaseException:
        _stop(proc)
        raise
    return SSHServer(
        host="127.0.0.1",
        port=port,
        user=getpass.getuser(),
        key_file=folder / "user_key",
        other_key_file=folder / "other_key",
        proc=proc,
    )


# -- HTTP -----------------------------------------------------------------------------


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder; paths under ``/private/`` need ``Authorization: Bearer TOKEN``."""

    token = ""

    def do_GET(self) -> None:
        if self._allowed():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._allowed():
            super().do_HEAD()

    def _allowed(self) -> bool:
        if self.path.startswith("/private") and (
            self.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            self.send_error(401, "Unauthorized")
            return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class HTTPServerHandle:
    """A running HTTP server over ``root``; ``/private/`` needs ``token``."""

    url: str
    root: Path
    token: str
    server: ThreadingHTTPServer = field(repr=False)

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        self.server.shutdown()
        self.server.server_close()


def start_http(root: Path, token: str = "http-test-token-8c1f") -> HTTPServerHandle:
    """Serve ``root`` over HTTP on a free loopback port, in a thread."""
    root.mkdir(parents=True, exist_ok=True)
    handler = type("Handler", (_Handler,), {"token": token})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="http-storage").start()
    port = server.server_address[1]
    return HTTPServerHandle(url=f"http://127.0.0.1:{port}", root=root, token=token, server=server)
