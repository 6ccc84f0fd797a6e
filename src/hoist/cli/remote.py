"""The CLI against a Hoist server (``hoist --server URL ...``): a client with the saved
token, the server's errors mapped to exit codes, and the run log read over HTTP.

The token is ``HOIST_TOKEN`` when set, else the one ``hoist login --server URL`` saved
for that server. A missing, expired or revoked token exits 2 with a hint to log in; an
unreachable server exits 2 naming the URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hoist.cli.credentials import lookup, normalize_url
from hoist.errors import UserInputError
from hoist.runs.models import Run
from hoist.runs.reader import RunFilter, cursor_text
from hoist.settings import Settings

if TYPE_CHECKING:
    from hoist.client import HoistClient

__all__ = [
    "NotLoggedInError",
    "RemoteLog",
    "ServerUnreachableError",
    "connect",
    "remote_events",
    "remote_log",
    "server_option",
    "server_url",
]

F = TypeVar("F", bound=Callable[..., Any])

SERVER_HELP = (
    "A Hoist server: the command goes through its API (log in first with `hoist login "
    "--server URL`). Also accepted before the command: `hoist --server URL ...`. Env: "
    "HOIST_SERVER_URL."
)

_PAGE = 500  # the server's largest page of runs


class NotLoggedInError(UserInputError):
    """No token for the server, or the server refused it (expired, revoked).

    Attributes:
        url: the server.
    """

    def __init__(self, url: str, reason: str | None = None) -> None:
        why = reason or f"not logged in to {url}"
        super().__init__(f"{why}: run `hoist login --server {url}`")
        self.url = url


class ServerUnreachableError(UserInputError):
    """The server did not answer (wrong URL, not running, network down).

    Attributes:
        url: the server.
    """

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__(f"cannot reach the Hoist server at {url}: {cause}")
        self.url = url


def _use_server(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if not value:
        return
    from hoist.runs.runtime import Runtime

    current = ctx.find_object(Runtime)
    settings = current.settings if current is not None else Settings.from_env()
    runtime = Runtime(settings.with_(server_url=value))
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def server_option(fn: F) -> F:
    """``--server URL`` on a command (or group) that may talk to a server, so that it is
    accepted after the command as well as before it (``hoist --server URL run ...``)."""
    option = click.option("--server", metavar="URL", expose_value=False,
                          callback=_use_server, help=SERVER_HELP)  # fmt: skip
    return option(fn)


def server_url(settings: Settings) -> str:
    """The server the CLI was pointed at (``--server`` / ``HOIST_SERVER_URL``), normalized."""
    assert settings.server_url is not None
    return normalize_url(settings.server_url)


def server_token(settings: Settings, url: str) -> str:
    """``settings.token`` (``HOIST_TOKEN``), else the token saved for ``url``.

    Raises:
        NotLoggedInError: neither exists.
    """
    if settings.token:
        return settings.token
    entry = lookup(settings.home, url)
    if entry is None:
        raise NotLoggedInError(url)
    found: str = entry["token"]
    return found


@contextlib.contextmanager
def api_errors(url: str) -> Iterator[None]:
    """Map a refused token and transport failures, raised in the block, to CLI errors."""
    import httpx

    from hoist.client import AuthError, RateLimitedError

    try:
        yield
    except RateLimitedError:
        raise
    except AuthError as exc:
        raise NotLoggedInError(url, f"the server refused the token ({exc.detail})") from exc
    except httpx.TransportError as exc:
        raise ServerUnreachableError(url, exc) from exc


@contextlib.contextmanager
def connect(settings: Settings) -> Iterator[HoistClient]:
    """A client for the configured server with its token; errors mapped (see module)."""
    from hoist.client import HoistClient

    url = server_url(settings)
    token = server_token(settings, url)
    with api_errors(url), HoistClient(url, token) as client:
        yield client


@contextlib.contextmanager
def remote_log(settings: Settings) -> Iterator[RemoteLog]:
    """:func:`connect`, as a :class:`~hoist.runs.reader.RunLog`."""
    with connect(settings) as client:
        yield RemoteLog(client)


def remote_events(settings: Settings, run_id: str, after: int, follow: bool) -> Iterator[Any]:
    """The run's events with ``seq > after``; with ``follow``, live (SSE, reconnecting
    with ``Last-Event-ID``) until the run ends."""
    with connect(settings) as client:
        if follow:
            yield from client.stream_events(run_id, after)
        else:
            yield from client.events(run_id, after)


class RemoteLog:
    """A :class:`~hoist.runs.reader.RunLog` read from a Hoist server, so that the views
    of the local store (``runs show``, pipeline progress) work unchanged on it.

    Args:
        client: a client with credentials.
    """

    def __init__(self, client: HoistClient) -> None:
        self.client = client

    def get_run(self, run_id: str) -> Run:
        """The run (``run_id`` may be a unique prefix)."""
        return self.client.get_run(run_id)

    def list_runs(self, flt: RunFilter | None = None) -> list[Run]:
        """Runs matching ``flt``, newest first (``since``/``until`` applied here)."""
        flt = flt or RunFilter()
        found: list[Run] = []
        # Pages follow the server's ``next`` cursor; ``offset`` is applied here.
        skip, cursor = flt.offset, None if flt.cursor is None else cursor_text(flt.cursor)
        while len(found) < flt.limit:
            page, cursor = self.client.list_runs_page(
                status=[str(s) for s in flt.status] if flt.status else None,
                kind=flt.kind, parent=flt.parent_id, plugin=flt.plugin, action=flt.action,
                limit=_PAGE, cursor=cursor,
            )  # fmt: skip
            kept = [r for r in page if _within(r, flt)]
            dropped, skip = min(skip, len(kept)), max(0, skip - len(kept))
            found.extend(kept[dropped:])
            if cursor is None or (flt.since is not None and page[-1].created_at < flt.since):
                break
        return found[: flt.limit]

    def events(self, run_id: str, after_seq: int = 0, limit: int | None = None) -> list[Any]:
        """The run's events with ``seq > after_seq``."""
        found = self.client.events(run_id, after_seq, min(limit or 1000, 1000))
        return found if limit is None else found[:limit]

    def request_cancel(self, run_id: str) -> None:
        """Ask the server to cancel the run."""
        self.client.cancel(run_id)

    def is_cancel_requested(self, run_id: str) -> bool:
        """Unknown to the API's readers: always False."""
        return False


def _within(run: Run, flt: RunFilter) -> bool:
    return (flt.since is None or run.created_at >= flt.since) and (
        flt.until is None or run.created_at <= flt.until
    )
