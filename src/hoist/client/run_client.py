"""``ctx.client``: the configured Hoist server's client, bound to the run that uses it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from hoist.client import calls
from hoist.client.sync import HoistClient

__all__ = ["UPLOAD_CHUNK", "RunClient", "run_client_factory"]

UPLOAD_CHUNK = 1024 * 1024
"""Bytes read from a file per chunk when :meth:`RunClient.upload_file` streams it."""


class RunClient(HoistClient):
    """A :class:`HoistClient` for one run: everything the API offers, plus
    :meth:`upload_file`, which stores a file among the run's artifacts on the server,
    and :meth:`delete_file`, which deletes one of the run's files there.

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
        """Upload ``path`` as the run's artifact ``name`` (default: the file's name),
        streamed from the file in chunks (never held in memory whole).

        Returns:
            ``{"path": "artifacts/<name>", "size": <bytes>}`` as stored on the server.

        Raises:
            FileNotFoundError: ``path`` is not a file.
            HoistError: the server refused it (the run ended, the file is too large...).
        """
        file = Path(path)
        with file.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            if self._before_upload is not None:
                self._before_upload()
            call = calls.put_artifact(self.run_id, name or file.name, _chunks(source, size), size)
            stored = self.send(call)
        if self._on_upload is not None:
            self._on_upload(stored)
        return stored

    def delete_file(self, name: str) -> None:
        """Delete the run's file ``name`` on the server (a path relative to the run's
        folder, as :meth:`upload_file` answered it or ``list_artifacts`` lists it).

        Raises:
            NotFoundError: the server has no such file.
            HoistError: the server refused it (the run ended, another worker's run...).
        """
        self.delete_artifact(self.run_id, name)


def _chunks(source: IO[bytes], size: int) -> Iterator[bytes]:
    """The first ``size`` bytes of ``source`` (its size when the upload began: what
    ``Content-Length`` says), chunk by chunk."""
    left = size
    while left > 0 and (chunk := source.read(min(UPLOAD_CHUNK, left))):
        left -= len(chunk)
        yield chunk


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
