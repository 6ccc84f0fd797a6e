"""Which files of a plugin folder go into its package: everything but what the defaults
and the plugin's ``.hoistignore`` (gitignore syntax, read with ``pathspec``) exclude.

The defaults come first, so a ``.hoistignore`` can take one back (``!dist/``). As in git,
a file under an excluded folder cannot be re-included.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pathspec

from hoist.plugins.packaging.errors import IgnoreFileError, PackagingError

__all__ = ["DEFAULT_IGNORES", "IGNORE_FILE", "load_ignore", "select_files"]

IGNORE_FILE = ".hoistignore"

DEFAULT_IGNORES = (
    "__pycache__/",
    "*.py[cod]",
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    ".hoist*/",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    "*.egg-info/",
    ".DS_Store",
    "/dist/",
)
"""Excluded from every package (before the plugin's own ``.hoistignore``)."""


def load_ignore(root: Path) -> pathspec.GitIgnoreSpec:
    """The defaults and ``root/.hoistignore`` as one gitignore spec.

    Raises:
        IgnoreFileError: a line is not a valid pattern (file and line named).
    """
    lines = list(DEFAULT_IGNORES)
    ignore_file = root / IGNORE_FILE
    if ignore_file.is_file():
        try:
            text = ignore_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise IgnoreFileError(f"cannot read: {exc}", path=str(ignore_file)) from exc
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except ValueError as exc:
                raise IgnoreFileError(
                    f"{line!r} is not a valid gitignore pattern ({exc})",
                    path=str(ignore_file),
                    line=number,
                ) from None
            lines.append(line)
    return pathspec.GitIgnoreSpec.from_lines(lines)


def select_files(root: Path, *, exclude: tuple[Path, ...] = ()) -> list[tuple[str, str]]:
    """The files to package: ``(archive name, file path)`` sorted by name ("/"-separated,
    relative to ``root``). Folders in ``exclude`` (the output folder) are left out.

    Raises:
        IgnoreFileError: a broken ``.hoistignore``.
        PackagingError: a symlink or a special file (not excluded) is in the plugin.
    """
    spec = load_ignore(root)
    ignored = _Matcher(spec)
    skipped = {os.path.realpath(p) for p in exclude}
    found: list[tuple[str, str]] = []
    pending = [(str(root), "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                # DirEntry's type checks read the folder listing: no stat per file
                name = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if ignored(name + "/") or os.path.realpath(entry.path) in skipped:
                        continue
                    pending.append((entry.path, name + "/"))
                elif ignored(name) or (
                    entry.is_symlink() and ignored(name + "/")  # a linked .venv
                ):
                    continue
                elif entry.is_file(follow_symlinks=False):
                    found.append((name, entry.path))
                else:
                    kind = "a symlink" if entry.is_symlink() else "not a regular file"
                    raise PackagingError(
                        str(root),
                        f"{name} is {kind}; packages hold plain files only "
                        f"(replace it by a file, or add it to {IGNORE_FILE})",
                    )
    found.sort()
    return found


class _Matcher:
    """``spec.match_file`` behind one regex of every pattern: most paths match none, and
    one search answers them at C speed; the rest get gitignore's last-match-wins."""

    def __init__(self, spec: pathspec.GitIgnoreSpec) -> None:
        self.spec = spec
        active = [p for p in spec.patterns if p.include is not None]
        regexes = [r for p in active if (r := getattr(p, "regex", None)) is not None]
        self.any_pattern: Callable[[str], re.Match[str] | None] | None = None
        if len(regexes) == len(active):  # else every path takes the slow way
            names = re.compile(r"\(\?P<\w+>")  # group names would clash when joined
            joined = re.compile("|".join(f"(?:{names.sub('(?:', r.pattern)})" for r in regexes))
            # gitignore's regexes are anchored (^...): match() tries position 0 only
            anchored = all(r.pattern.startswith("^") for r in regexes)
            self.any_pattern = joined.match if anchored else joined.search

    def __call__(self, path: str) -> bool:
        if self.any_pattern is not None and self.any_pattern(path) is None:
            return False
        return bool(self.spec.match_file(path))
