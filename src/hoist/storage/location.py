"""A storage location: one root (a folder, a bucket prefix, an SFTP folder, a web
folder) and the operations every provider supports, with Hoist's errors."""

from __future__ import annotations

import builtins
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from hoist.errors import StorageError, StorageNotFoundError, StorageReadOnlyError, UserInputError
from hoist.storage.entries import Entry, Progress, entry_from_info
from hoist.storage.failures import ErrorContext, translated
from hoist.storage.files import TranslatedFile
from hoist.storage.providers import Provider, Target
from hoist.storage.transfer import ByteCounter, get_files, put_files, sha256_of, stream

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

__all__ = ["StorageLocation"]


class StorageLocation:
    """A root on some storage and what can be done below it.

    Paths are relative to the root and ``/``-separated; one that climbs out of the root
    (``..``) is refused. Every failure is a :class:`hoist.errors.StorageError` naming the
    location and the path, never a credential. Build one with
    :func:`hoist.storage.open_location`.

    Attributes:
        name: the configured name (``models``), or the URL for an ad-hoc location.
        url: the root URL, never with credentials.
    """

    def __init__(
        self,
        name: str,
        provider: Provider,
        target: Target,
        options: Mapping[str, Any] | None = None,
        *,
        secrets: Collection[str] = (),
    ) -> None:
        self.name, self.url = name, target.url
        self._provider, self._target = provider, target
        self._options = dict(options or {})
        self._context = ErrorContext(name, provider, target, tuple(secrets))
        self._fs: AbstractFileSystem | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StorageLocation(name={self.name!r}, url={self.url!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_fs"], state["_lock"] = None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------

    @property
    def appendable(self) -> bool:
        """Whether :meth:`open` takes ``"ab"`` here (folders on disk, SFTP; not object
        stores, whose objects are written whole)."""
        return self._provider.appendable

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        """Open a file: ``"rb"`` to read, ``"wb"`` to write, ``"ab"`` to append where
        :attr:`appendable` (parents are made for a write)."""
        if mode not in ("rb", "wb", "ab"):
            raise ValueError(f"mode must be 'rb', 'wb' or 'ab', not {mode!r}")
        if mode == "ab" and not self.appendable:
            raise StorageError(
                "cannot append here (objects are written whole)",
                location=self.name, url=self.url, path=path,
            )  # fmt: skip
        rel = self._relative(path)
        if mode != "rb":
            self._refuse_write(rel)
        with self._errors(rel):
            fs = self._filesystem()
            if mode != "rb":
                self._make_parent(fs, rel)
            raw = fs.open(self._fs_path(rel), mode)
        return cast(IO[bytes], TranslatedFile(raw, self._context, rel))

    def read_bytes(self, path: str) -> bytes:
        """The whole file."""
        rel = self._relative(path)
        with self._errors(rel):
            return bytes(self._filesystem().cat_file(self._fs_path(rel)))

    def list(self, prefix: str = "", *, recursive: bool = False) -> builtins.list[Entry]:
        """What lies below ``prefix``, sorted by path: its files and folders, or with
        ``recursive`` every file below it (folders left out). A file lists as itself; a
        root that does not exist yet lists empty.

        Raises:
            StorageNotFoundError: ``prefix`` (not the root) does not exist.
        """
        rel = self._relative(prefix)
        base = self._fs_path(rel)
        try:
            with self._errors(rel):
                fs = self._filesystem()
                if recursive:
                    infos = list(fs.find(base, detail=True, withdirs=False).values())
                else:
                    infos = fs.ls(base, detail=True)
        except StorageNotFoundError as exc:
            if exc.problem != "not found":
                raise
            if not rel:
                return []
            entry = self.info(rel)  # a file (SFTP will not list one), or not found again
            if entry.is_dir:
                raise
            return [entry]
        entries = [entry_from_info(info, self._relative_of(info["name"])) for info in infos]
        found = sorted((e for e in entries if e.path != rel or not e.is_dir), key=_by_path)
        if not found and rel and not self.exists(rel):
            raise StorageNotFoundError("not found", location=self.name, url=self.url, path=rel)
        return found

    def exists(self, path: str) -> bool:
        """Whether ``path`` is there (a missing bucket or host still raises)."""
        try:
            self.info(path)
        except StorageNotFoundError as exc:
            if exc.problem != "not found":
                raise
            return False
        return True

    def info(self, path: str) -> Entry:
        """Size, kind and modification time of one file or folder."""
        rel = self._relative(path)
        with self._errors(rel):
            return entry_from_info(self._filesystem().info(self._fs_path(rel)), rel)

    def checksum(self, path: str) -> str:
        """The sha256 hex digest of a file, streamed (the file is never held whole)."""
        with self.open(path, "rb") as source:
            return sha256_of(source)

    def url_of(self, path: str) -> str:
        """The full URL of ``path`` (never with credentials)."""
        return self._provider.url_of(self._target, self._fs_path(self._relative(path)))

    def child(self, prefix: str) -> StorageLocation:
        """A location rooted at ``prefix`` below this one (same storage, same credentials)."""
        rel = self._relative(prefix)
        if not rel:
            return self
        target = Target(
            scheme=self._target.scheme,
            root=self._fs_path(rel),
            url=self.url_of(rel),
            url_options=self._target.url_options,
        )
        name = target.url if self.name == self.url else f"{self.name}/{rel}"
        child = StorageLocation(
            name, self._provider, target, self._options, secrets=self._context.secrets
        )
        child._fs = self._fs
        return child

    # -- writing ---------------------------------------------------------------------

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write a whole file (replacing it; parents are made)."""
        rel = self._relative(path)
        self._refuse_write(rel)
        with self._errors(rel):
            fs = self._filesystem()
            self._make_parent(fs, rel)
            fs.pipe_file(self._fs_path(rel), data)

    def remove(self, path: str, *, recursive: bool = False) -> None:
        """Remove a file, or with ``recursive`` a folder and all below it."""
        rel = self._relative(path)
        self._refuse_write(rel)
        if self.info(rel).is_dir and not recursive:
            raise StorageError(
                "is a folder; remove it with recursive=True",
                location=self.name,
                url=self.url,
                path=rel,
            )
        with self._errors(rel):
            self._filesystem().rm(self._fs_path(rel), recursive=recursive)

    def move(self, path: str, new_path: str) -> None:
        """Rename a file within this location (on object stores: a server-side copy, then
        the old one removed)."""
        rel, new_rel = self._relative(path), self._relative(new_path)
        self._refuse_write(new_rel)
        with self._errors(rel):
            fs = self._filesystem()
            self._make_parent(fs, new_rel)
            fs.mv(self._fs_path(rel), self._fs_path(new_rel))

    # -- transfers -------------------------------------------------------------------

    def upload(self, local: Path, path: str, *, progress: Progress | None = None) -> Entry:
        """Upload a local file to ``path``, or a folder's files below ``path``."""
        rel = self._relative(path)
        self._refuse_write(rel)
        local = Path(local)
        if local.is_dir():
            files = sorted(p for p in local.rglob("*") if p.is_file())
            pairs = [(f, self._fs_path(_join(rel, f.relative_to(local).as_posix()))) for f in files]
        elif local.is_file():
            pairs = [(local, self._fs_path(rel))]
        else:
            raise UserInputError(f"{local}: no such file or folder to upload")
        counter = ByteCounter(progress, sum(f.stat().st_size for f, _ in pairs))
        with self._errors(rel):
            fs = self._filesystem()
            put_files(fs, pairs, counter, make_dirs=self._provider.has_directories)
            if hasattr(fs, "invalidate_cache"):
                fs.invalidate_cache()
        return self.info(rel)

    def download(self, path: str, local: Path, *, progress: Progress | None = None) -> Path:
        """Download a file to ``local``, or a folder's files below ``local``."""
        rel = self._relative(path)
        local = Path(local)
        files = self._files_below(rel)
        pairs = [(self._fs_path(e.path), local / _below(e.path, rel)) for e in files]
        counter = ByteCounter(progress, _total(files))
        with self._errors(rel):
            get_files(self._filesystem(), pairs, counter)
        return local

    def copy_to(
        self,
        path: str,
        dest: StorageLocation,
        dest_path: str,
        *,
        progress: Progress | None = None,
    ) -> None:
        """Copy a file or folder to ``dest_path`` of another (or the same) location:
        inside one storage the copy stays on the server (S3's copy), else it streams."""
        rel, dest_rel = self._relative(path), dest._relative(dest_path)
        dest._refuse_write(dest_rel)
        files = self._files_below(rel)
        counter = ByteCounter(progress, _total(files))
        with self._errors(rel):
            fs = self._filesystem()
        with dest._errors(dest_rel):
            same_storage = self._provider.server_side_copy and dest._filesystem() is fs
        for entry in files:
            target = _join(dest_rel, _below(entry.path, rel))
            with self._errors(entry.path), dest._errors(target):
                if same_storage:
                    dest._make_parent(fs, target)
                    fs.copy(self._fs_path(entry.path), dest._fs_path(target))
                    counter.add(entry.size or 0)
                    continue
                with self.open(entry.path, "rb") as source, dest.open(target, "wb") as sink:
                    stream(source, sink, counter)

    # -- internals -------------------------------------------------------------------

    def _filesystem(self) -> AbstractFileSystem:
        """The filesystem, made (and, for SFTP, connected) on first use: call it inside
        ``_errors(path)``, so a refused login names the path it was for."""
        if self._fs is None:
            with self._lock:
                if self._fs is None:
                    options = {**self._target.url_options, **self._options}
                    self._fs = self._provider.filesystem(self._target, options)
        return self._fs

    @contextmanager
    def _errors(self, path: str) -> Iterator[None]:
        with translated(self._context, path):
            yield

    def _relative(self, path: str) -> str:
        parts = [p for p in str(path).replace("\\", "/").split("/") if p not in ("", ".")]
        if ".." in parts:
            raise StorageError(
                "the path leaves the location ('..')", location=self.name, url=self.url, path=path
            )
        return "/".join(parts)

    def _fs_path(self, rel: str) -> str:
        return _join(self._target.root, rel)

    def _relative_of(self, fs_path: str) -> str:
        root = self._target.root.rstrip("/")
        name = fs_path.rstrip("/")
        for scheme in (f"{self._target.scheme}://",):
            if name.startswith(scheme) and not root.startswith(scheme):
                name = name[len(scheme) :]
        return name[len(root) :].lstrip("/") if name.startswith(root) else name

    def _refuse_write(self, rel: str) -> None:
        if self._provider.read_only:
            raise StorageReadOnlyError(
                f"read-only ({self._target.scheme}:// only reads)",
                location=self.name,
                url=self.url,
                path=rel,
            )

    def _make_parent(self, fs: AbstractFileSystem, rel: str) -> None:
        if self._provider.has_directories and "/" in self._fs_path(rel).strip("/"):
            fs.makedirs(fs._parent(self._fs_path(rel)), exist_ok=True)

    def _files_below(self, rel: str) -> Sequence[Entry]:
        entry = self.info(rel)
        return self.list(rel, recursive=True) if entry.is_dir else [entry]


def _join(base: str, rel: str) -> str:
    if not rel or not base:
        return base or rel
    return f"{base.rstrip('/')}/{rel}"


def _below(path: str, prefix: str) -> str:
    """``path`` relative to ``prefix`` (a file given as itself: its name)."""
    if path == prefix:
        return ""
    return path[len(prefix) :].lstrip("/") if prefix else path


def _total(entries: Collection[Entry]) -> int | None:
    sizes = [e.size for e in entries]
    return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)


def _by_path(entry: Entry) -> str:
    return entry.path
