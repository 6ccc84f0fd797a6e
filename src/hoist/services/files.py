"""A run's files, as its entry point reaches them: ``tracer.fs_sync()`` (or
``await tracer.fs()``) gives the run's folder (``runs_dir/<run_id>/``), with ``in/``
holding what the form uploaded and ``out/`` the deliverables::

    fs = await tracer.fs()
    for entry in await fs.ls("in"):
        data = await fs.read(entry["path"])
    await fs.upload("/tmp/report.pdf", "out/report.pdf")

Every path is relative to the run's folder and never leaves it: absolute paths, ``..``,
backslashes, NUL and symlinks that lead out are refused with
:class:`~hoist.errors.RunPathError`.

When the run records through a Hoist server (``ctx.client``: a service or worker that
posts its runs there, whose folder the server may not share), every file that lands in
the run's folder is *published* to the server (``PUT /api/v1/runs/{id}/artifacts/{path}``,
which keeps ``in/`` and ``out/`` paths as they are), so its API and panel list and serve
it: a file ``upload`` puts there, one ``open``-ed for writing when it is closed, and a
launch's uploads in ``in/`` before the entry point runs (:meth:`RunFiles.publish`, which
the service's pool calls as the execution starts, in-process or on Ray: see
:mod:`hoist.services.slots`). ``remove`` deletes the server's copy too
(``DELETE /api/v1/runs/{id}/artifacts/{path}``). Without a server (a service recording
in the server's own store and folder) nothing is sent.

:class:`RunFiles` is the one (blocking) core; :class:`AsyncRunFiles` runs each call on a
worker thread, so an async entry point never blocks its loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from hoist.errors import NotFoundError, RunPathError

__all__ = ["FOLDERS", "AsyncRunFiles", "RunFiles", "published_path"]

#: The run folder's standard sub-folders: inputs (uploads) and deliverables.
FOLDERS = ("in", "out")
_MODES = frozenset({"r", "rb", "w", "wb", "a", "ab", "x", "xb", "r+", "rb+", "r+b"})

_PathArg = str | PathLike[str]


def published_path(path: str) -> str:
    """Where the server keeps a file published as ``path`` (relative to the run's
    folder): a file below ``in/`` or ``out/`` keeps its path, any other goes below the
    run's ``artifacts/`` (``ctx.client.upload_file``'s artifacts). The one rule of
    ``PUT /api/v1/runs/{id}/artifacts/{path}`` and of :meth:`RunFiles.remove`."""
    kept = path.split("/", 1)[0] in FOLDERS and "/" in path
    return path if kept else f"artifacts/{path}"


class RunFiles:
    """The files of one run, confined to its folder.

    Args:
        root: the run's folder (created on first use).
        client: the run's Hoist server client (``ctx.client``); when given, every file
            that lands in the folder is published there too (see the module).
    """

    def __init__(self, root: Path, client: Any = None) -> None:
        self.root = Path(root)
        self._client = client

    def path(self, path: _PathArg) -> Path:
        """The absolute path of ``path`` inside the run's folder (it need not exist).

        Raises:
            RunPathError: ``path`` is empty, absolute, holds ``..``, a backslash or NUL,
                or leads out of the folder through a symlink.
        """
        return self._target(path)

    def ls(self, path: _PathArg = "") -> list[dict[str, Any]]:
        """The entries directly in ``path`` (default: the run's folder), sorted:
        ``{"path": <relative to the run's folder>, "size": bytes, "is_dir": bool}``.
        ``in`` and ``out`` list empty until something is put there.

        Raises:
            RunPathError: ``path`` leaves the folder.
            FileNotFoundError: ``path`` does not exist.
            NotADirectoryError: ``path`` is a file.
        """
        folder = self._target(path, root_ok=True)
        if not folder.exists() and (folder == self._root() or self._relative(folder) in FOLDERS):
            return []
        if not folder.exists():
            raise FileNotFoundError(f"no {str(path)!r} in run folder {self.root.name}")
        found = []
        for entry in sorted(folder.iterdir()):
            inside = self._inside(entry)
            if inside is None:  # a symlink that leads out: not the run's
                continue
            is_dir = inside.is_dir()
            size = 0 if is_dir else inside.stat().st_size
            found.append({"path": self._relative(entry), "size": size, "is_dir": is_dir})
        return found

    def open(self, path: _PathArg, mode: str = "rb") -> IO[Any]:
        """Open a file of the run (writing creates its folders). A file opened for
        writing is published to the run's server when it is closed.

        Raises:
            RunPathError: ``path`` leaves the folder.
            ValueError: an unknown ``mode``.
        """
        if mode not in _MODES and mode.replace("t", "") not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
        target = self._target(path)
        if mode[0] in "wax":
            target.parent.mkdir(parents=True, exist_ok=True)
        handle = target.open(mode)
        if self._client is None or (mode[0] == "r" and "+" not in mode):
            return handle
        return cast(IO[Any], _PublishedOnClose(handle, lambda: self._publish(target)))

    def read(self, path: _PathArg) -> bytes:
        """The bytes of a file of the run.

        Raises:
            RunPathError: ``path`` leaves the folder.
            FileNotFoundError: no such file.
        """
        return self._target(path).read_bytes()

    def upload(self, local_path: _PathArg, path: _PathArg) -> str:
        """Copy the local file ``local_path`` into the run's folder as ``path`` (a
        deliverable goes to ``out/<name>``), and to the run's Hoist server when it has
        one. Returns ``path`` relative to the run's folder.

        Raises:
            RunPathError: ``path`` leaves the folder.
            FileNotFoundError: ``local_path`` is not a file.
        """
        source = Path(local_path)
        if not source.is_file():
            raise FileNotFoundError(f"{source} is not a file")
        target = self._target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        shutil.copyfile(source, partial)
        partial.replace(target)  # readers never see half a file
        self._publish(target)
        return self._relative(target)

    def publish(self, path: _PathArg = "") -> list[str]:
        """Send every file below ``path`` (default: the whole folder) to the run's
        Hoist server, when it records there; nothing without one. Returns the paths
        sent (relative to the run's folder), sorted.

        Raises:
            RunPathError: ``path`` leaves the folder.
            HoistError: the server refused a file (the run ended, over its size limit).
        """
        if self._client is None:
            return []
        folder = self._target(path, root_ok=True)
        if folder.is_file():
            self._publish(folder)
            return [self._relative(folder)]
        sent = self._files_below(folder)
        for relative in sent:
            self._publish(self._root() / relative)
        return sorted(sent)

    def download(self, path: _PathArg, local_path: _PathArg) -> Path:
        """Copy the run's file ``path`` to ``local_path`` (a folder keeps its name).

        Raises:
            RunPathError: ``path`` leaves the folder.
            FileNotFoundError: no such file.
        """
        source = self._target(path)
        if not source.is_file():
            raise FileNotFoundError(f"no file {str(path)!r} in run folder {self.root.name}")
        target = Path(local_path)
        if target.is_dir():
            target = target / source.name
        shutil.copyfile(source, target)
        return target

    def remove(self, path: _PathArg) -> None:
        """Remove a file, or a folder with what it holds (never the run's folder); and
        their copies published to the run's server, when it has one (a symlink goes
        alone, never what it points at, here and there).

        Raises:
            RunPathError: ``path`` leaves the folder, or names the folder itself.
            FileNotFoundError: nothing is there.
            HoistError: the server refused to delete a copy (the run ended, or its
                token may not).
        """
        link = self._root() / self._given(path)
        if link.is_symlink() and link.parent.resolve().is_relative_to(self._root()):
            link.unlink()  # the link itself, never what it points at
            return
        target = self._target(path)
        if target.is_dir():
            below = self._files_below(target) if self._client is not None else []
            # What a symlink in it leads to elsewhere in the run stays, there and here.
            published = [r for r in below if (self._root() / r).is_relative_to(target)]
            shutil.rmtree(target)
        else:
            published = [self._relative(target)]
            target.unlink()
        for relative in published if self._client is not None else ():
            self._unpublish(relative)

    def close(self) -> None:
        """Nothing to release (kept for kodosumi's ``fs.close()``)."""

    def __enter__(self) -> RunFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.root}>"

    def _publish(self, target: Path) -> None:
        """The one way a file of the run reaches its server (when it has one)."""
        if self._client is not None:
            self._client.upload_file(target, self._relative(target))

    def _unpublish(self, relative: str) -> None:
        """Delete the server's copy of a file published as ``relative``: one it never
        had (never published, or a server sharing this folder) is fine."""
        with contextlib.suppress(NotFoundError):
            self._client.delete_file(published_path(relative))

    def _files_below(self, folder: Path) -> list[str]:
        """The files below ``folder`` as :meth:`publish` sends them (relative paths)."""
        found = []
        for where, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                file = self._inside(Path(where, name))
                if file is not None and file.is_file() and not name.endswith(".part"):
                    found.append(self._relative(file))
        return found

    # ------------------------------------------------------------------ confinement
    def _root(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root.resolve()

    def _given(self, path: _PathArg) -> PurePosixPath:
        text = str(path) if isinstance(path, str | PathLike) else None
        if text is None:
            raise RunPathError(repr(path), "a path is a string")
        if "\x00" in text or "\\" in text:
            raise RunPathError(text, "NUL and backslashes are not allowed")
        given = PurePosixPath(text)
        if given.is_absolute():
            raise RunPathError(text, "an absolute path; give one relative to the run's folder")
        if ".." in given.parts:
            raise RunPathError(text, "'..' leads out of the run's folder")
        return given

    def _target(self, path: _PathArg, root_ok: bool = False) -> Path:
        given = self._given(path)
        root = self._root()
        target = (root / given).resolve()  # symlinks followed: where it really is
        if not target.is_relative_to(root):
            raise RunPathError(str(path), "leads out of the run's folder (a symlink)")
        if target == root and not root_ok:
            raise RunPathError(str(path), "names the run's folder itself, not a file in it")
        return target

    def _inside(self, entry: Path) -> Path | None:
        real = entry.resolve()
        return real if real.is_relative_to(self._root()) else None

    def _relative(self, path: Path) -> str:
        root = self._root()
        absolute = path if path.is_absolute() else root / path
        try:
            return absolute.relative_to(root).as_posix()
        except ValueError:
            return absolute.resolve().relative_to(root).as_posix()


class _PublishedOnClose:
    """A file of the run opened for writing: closing it publishes it (once).
    Everything else is the file's own."""

    def __init__(self, handle: IO[Any], publish: Callable[[], None]) -> None:
        self._handle = handle
        self._publish = publish

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __iter__(self) -> Any:
        return iter(self._handle)

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()
            self._publish()

    def __enter__(self) -> _PublishedOnClose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<published on close: {self._handle!r}>"


class AsyncRunFiles:
    """:class:`RunFiles` for async code: the same calls, each awaited (run on a worker
    thread). ``open`` answers an async file (``anyio``'s)."""

    def __init__(self, files: RunFiles) -> None:
        self.sync = files

    @property
    def root(self) -> Path:
        """The run's folder."""
        return self.sync.root

    def path(self, path: _PathArg) -> Path:
        """:meth:`RunFiles.path` (no I/O beyond resolving it)."""
        return self.sync.path(path)

    async def ls(self, path: _PathArg = "") -> list[dict[str, Any]]:
        """:meth:`RunFiles.ls`."""
        return await asyncio.to_thread(self.sync.ls, path)

    async def open(self, path: _PathArg, mode: str = "rb") -> Any:
        """:meth:`RunFiles.open`, as an ``anyio.AsyncFile``."""
        import anyio

        return anyio.wrap_file(await asyncio.to_thread(self.sync.open, path, mode))

    async def read(self, path: _PathArg) -> bytes:
        """:meth:`RunFiles.read`."""
        return await asyncio.to_thread(self.sync.read, path)

    async def upload(self, local_path: _PathArg, path: _PathArg) -> str:
        """:meth:`RunFiles.upload`."""
        return await asyncio.to_thread(self.sync.upload, local_path, path)

    async def publish(self, path: _PathArg = "") -> list[str]:
        """:meth:`RunFiles.publish`."""
        return await asyncio.to_thread(self.sync.publish, path)

    async def download(self, path: _PathArg, local_path: _PathArg) -> Path:
        """:meth:`RunFiles.download`."""
        return await asyncio.to_thread(self.sync.download, path, local_path)

    async def remove(self, path: _PathArg) -> None:
        """:meth:`RunFiles.remove`."""
        await asyncio.to_thread(self.sync.remove, path)

    async def close(self) -> None:
        """Nothing to release (kept for kodosumi's ``await fs.close()``)."""

    async def __aenter__(self) -> AsyncRunFiles:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.root}>"
