"""``ctx.client``: the configured Hoist server's client, bound to the run that uses it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hoist.client.sync import HoistClient

__all__ = ["RunClient", "run_client_factory"]


class RunClient(HoistClient):
    """A :class:`HoistClient` for one run: everything the API offers, plus
    :meth:`upload_file`, which stores a file among the run's artifacts on the server.

    Args:
        base_url: the server.
        token: an API token.
        run_id: the run whose artifacts :meth:`upload_file` adds to.
        on_upload: called with each stored artifact (the run's context records it).
        before_upload: called before each upload (the context flushes its sink, so the
            server has the run before its artifact arrives).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        run_id: str,
        on_upload: Callable[[dict[str, Any]], None] | None = None,
        before_upload: Callable[[], None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(base_url, token, **options)
        self.run_id = run_id
        self._on_upload = on_upload
        self._before_upload = before_upload

    def upload_file(self, path: str | Path, name: str | None = None) -> dict[str, Any]:
        """Upload ``path`` as the run's artifact ``name`` (default: the file's name).

        Returns:
            ``{"path": "artifacts/<name>", "size": <bytes>}`` as stored on the server.

        Raises:
            FileNotFoundError: ``path`` is not a file.
            HoistError: the server refused it (the run ended, the file is too large...).
        """
        file = Path(path)
        if self._before_upload is not None:
            self._before_upload()
        stored = self.put_artifact(self.run_id, name or file.name, file.read_bytes())
        if self._on_upload is not None:
            self._on_upload(stored)
        return stored


def run_client_factory(base_url: str, token: str) -> Callable[[Any], RunClient]:
    """A factory building each run context's :class:`RunClient` (on first use)."""

    def build(ctx: Any) -> RunClient:
        return RunClient(
            base_url,
            token,
            ctx.run_id,
            on_upload=ctx.record_uploaded_artifact,
            before_upload=ctx.sink.flush,
        )

    return build
