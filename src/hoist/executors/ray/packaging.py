"""Ship a plugin to Ray workers: its folder as ``working_dir`` (with exclude rules and a
size limit), its requirements (pip or uv, bundled wheels), and an explicit allow-list of
environment variables. Secrets never go into ``runtime_env`` (Ray shows it in job
records); callers pass them some other way (actor arguments, a file in the package)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist.errors import UserInputError

__all__ = [
    "DEFAULT_EXCLUDES",
    "PackageOptions",
    "PackageTooLargeError",
    "check_size",
    "iter_package_files",
    "plugin_runtime_env",
    "plugin_runtime_env_from_config",
    "upload_working_dir",
]

DEFAULT_EXCLUDES = (
    ".git", ".hg", "__pycache__", "*.pyc", ".venv", "venv", "node_modules", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".hoist*", "*.egg-info",
)  # fmt: skip
"""Never shipped: caches, virtualenvs and version-control folders."""


class PackageTooLargeError(UserInputError):
    """The plugin folder, after excludes, is over the size limit."""


@dataclass(frozen=True)
class PackageOptions:
    """How a plugin folder is packaged for workers.

    Attributes:
        max_size_mb: refuse folders larger than this (after excludes).
        excludes: glob patterns (file or folder names, or paths relative to the plugin).
        env_allowlist: names of this process's environment variables workers get.
        include_hoist: ship this Hoist package too (for clusters without Hoist).
    """

    max_size_mb: float = 100.0
    excludes: Sequence[str] = field(default_factory=tuple)
    env_allowlist: Sequence[str] = field(default_factory=tuple)
    include_hoist: bool = False


def _excluded(rel: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in patterns)


def iter_package_files(root: Path, patterns: Sequence[str]) -> Iterator[tuple[Path, int]]:
    """Files that would be shipped, with their sizes."""
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        rel_base = base.relative_to(root)
        dirs[:] = [d for d in dirs if not _excluded(str(rel_base / d), d, patterns)]
        for name in files:
            rel = str(rel_base / name)
            if not _excluded(rel, name, patterns):
                path = base / name
                yield path, path.stat().st_size


def plugin_runtime_env(
    root: Path,
    *,
    requirements: Sequence[str] = (),
    package_manager: str = "pip",
    package_manager_options: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
    options: PackageOptions | None = None,
    environ: Mapping[str, str] | None = None,
    ship: bool = True,
) -> dict[str, Any]:
    """The ``runtime_env`` for running plugin folder ``root`` on workers.

    With ``ship``, the folder (minus excludes) becomes the workers' ``working_dir``: the
    returned env names it by path, for job-level submission (Ray Jobs, ``ray.init``),
    and :func:`upload_working_dir` turns it into a ``gcs://`` URI for actors and tasks.
    Without ``ship`` (workers on this machine), workers read the folder where it is.

    Raises:
        PackageTooLargeError: the folder is over ``options.max_size_mb`` (the message
            lists the largest files and how to exclude them).
    """
    options = options or PackageOptions()
    extra = dict(extra or {})
    patterns = [*DEFAULT_EXCLUDES, *options.excludes, *extra.pop("excludes", [])]
    env: dict[str, Any] = {}
    if ship:
        check_size(root, patterns, options.max_size_mb)
        env.update(working_dir=str(root), excludes=patterns)
    packages = [*requirements, *_requirements_file(root)]
    wheels = sorted((root / "wheels").glob("*.whl"))
    if ship:
        packages += [f"${{RAY_RUNTIME_ENV_CREATE_WORKING_DIR}}/wheels/{w.name}" for w in wheels]
    else:
        packages += [str(w) for w in wheels]
    if packages:
        install_options = list(package_manager_options)
        if package_manager == "uv":
            env["uv"] = {"packages": packages, "uv_pip_install_options": install_options}
        else:
            env["pip"] = {"packages": packages, "pip_install_options": install_options}
    source = os.environ if environ is None else environ
    variables = {name: source[name] for name in options.env_allowlist if name in source}
    if variables:
        env["env_vars"] = variables
    if options.include_hoist:
        # This package's folder (found from here: importing the root package would be an
        # arrow to every layer it re-exports).
        env["py_modules"] = [str(Path(__file__).resolve().parents[2])]
    for key, value in extra.items():
        env.setdefault(key, value)
    return env


def plugin_runtime_env_from_config(
    root: Path,
    config: Any,
    *,
    extra: Mapping[str, Any] | None = None,
    options: PackageOptions | None = None,
    ship: bool = True,
) -> dict[str, Any]:
    """:func:`plugin_runtime_env` with the requirements and package manager a plugin's
    ``config.yaml`` declares."""
    return plugin_runtime_env(
        root, extra=extra, options=options, ship=ship,
        requirements=list(config.requirements), package_manager=config.package_manager,
        package_manager_options=list(getattr(config, "package_manager_options", [])),
    )  # fmt: skip


def check_size(root: Path, patterns: Sequence[str], max_size_mb: float) -> int:
    """Bytes that would be shipped from ``root``.

    Raises:
        PackageTooLargeError: over ``max_size_mb``.
    """
    files = sorted(iter_package_files(root, patterns), key=lambda f: -f[1])
    total = sum(size for _, size in files)
    if total > max_size_mb * 1024 * 1024:
        biggest = ", ".join(f"{p.relative_to(root)} ({s / 2**20:.1f} MiB)" for p, s in files[:5])
        raise PackageTooLargeError(
            f"plugin folder {root} is {total / 2**20:.1f} MiB, over the {max_size_mb:g} "
            f"MiB limit; largest files: {biggest}. Exclude what workers do not need with "
            "'runtime_env: {excludes: [...]}' in config.yaml, or raise the limit."
        )
    return total


def upload_working_dir(env: dict[str, Any]) -> dict[str, Any]:
    """Replace a local ``working_dir`` path, and local ``py_modules`` folders, by
    ``gcs://`` URIs of their uploaded contents.

    Ray uploads local folders only for whole jobs; actors and tasks need a URI. The
    package is content-addressed, so an unchanged folder is uploaded once. Needs a
    connected Ray.
    """
    folder = env.get("working_dir")
    local_folder = bool(folder) and "://" not in str(folder)
    modules = {str(m) for m in env.get("py_modules", []) if "://" not in str(m)}
    if not local_folder and not modules:
        return env
    try:
        from ray._private.runtime_env import packaging as ray_packaging
    except ImportError as exc:  # pragma: no cover - depends on Ray internals
        raise PackageTooLargeError(f"this Ray cannot ship folders to actors: {exc}") from exc
    import tempfile

    excludes = list(env.get("excludes", []))
    shipped = {k: v for k, v in env.items() if k != "excludes"}

    def upload(path: str, *, parent: bool) -> str:
        uri: str = ray_packaging.get_uri_for_directory(path, False, excludes=excludes)
        with tempfile.TemporaryDirectory(prefix="hoist-pkg-") as scratch:
            ray_packaging.upload_package_if_needed(
                uri, scratch, path, False, include_parent_dir=parent, excludes=excludes,
                logger=None,
            )  # fmt: skip
        return uri

    if local_folder:
        shipped["working_dir"] = upload(str(folder), parent=False)
    if modules:  # a package folder keeps its own name inside the upload
        shipped["py_modules"] = [
            upload(str(m), parent=True) if str(m) in modules else str(m) for m in env["py_modules"]
        ]
    return shipped


def _requirements_file(root: Path) -> list[str]:
    file = root / "requirements.txt"
    if not file.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]
