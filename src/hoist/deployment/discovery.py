"""The one discovery of deployment strategies: built-in folders, ``strategy_paths`` and
the ``hoist.strategies`` entry point group.

A strategy is a folder holding ``runner.py``, ``config.yaml`` (at least ``name``, equal to
the folder's name), ``selector_instruction.md`` and ``adapter_instruction.md`` (``.txt``
accepted). A folder that breaks any of this is kept as a broken `StrategyDefinition`
whose error names the file and the key, never skipped.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hoist._yaml_lines import is_map, line_of, plain, read_yaml
from hoist.deployment.models import StrategyConfig
from hoist.errors import ConfigError, StrategyDefinitionError

__all__ = [
    "BUILTIN_DIR",
    "ENTRY_POINT_GROUP",
    "StrategyDefinition",
    "discover",
    "read_strategy_folder",
]

BUILTIN_DIR = Path(__file__).parent / "strategies"
BUILTIN_PACKAGE = "hoist.deployment.strategies"
ENTRY_POINT_GROUP = "hoist.strategies"
INSTRUCTIONS = ("selector_instruction", "adapter_instruction")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class StrategyDefinition:
    """One discovered strategy folder (``error`` set when it is broken).

    Attributes:
        name: the config's name (the folder's name when the config cannot be read).
        path: the strategy folder.
        source: ``builtin``, ``path`` or ``entry point <name> (<distribution>)``.
        package: the importable package of the folder (``None``: loaded by path).
        config: the parsed ``config.yaml`` (``None`` when broken).
        selector_instruction: the selector instruction's text.
        adapter_instruction: the adapter instruction's text.
        error: why the folder is broken, naming the file and key.
    """

    name: str
    path: Path
    source: str
    package: str | None = None
    config: StrategyConfig | None = None
    selector_instruction: str = ""
    adapter_instruction: str = ""
    error: StrategyDefinitionError | None = None

    @property
    def broken(self) -> bool:
        """True when the folder could not be read as a strategy."""
        return self.error is not None


def discover(
    paths: Iterable[Path] = (), *, builtin: bool = True, entry_points: bool = True
) -> list[StrategyDefinition]:
    """Every strategy folder, built-in first, then ``paths``, then entry points.

    A name defined twice keeps its first definition; the later one is listed as broken.
    """
    found: list[StrategyDefinition] = []
    if builtin:
        for folder in _subfolders(BUILTIN_DIR):
            found.append(
                read_strategy_folder(folder, "builtin", f"{BUILTIN_PACKAGE}.{folder.name}")
            )
    for path in paths:
        found.extend(_from_path(Path(path)))
    if entry_points:
        found.extend(_from_entry_points())
    return _mark_duplicates(found)


def read_strategy_folder(
    folder: Path, source: str = "path", package: str | None = None, *, expected: str | None = None
) -> StrategyDefinition:
    """Read one strategy folder; a broken one comes back with ``error`` set."""
    fallback = expected or folder.name
    try:
        config = _read_config(folder, fallback, expected or folder.name)
        if not (folder / "runner.py").is_file():
            raise StrategyDefinitionError(
                "runner.py is missing (it holds the strategy's Runner subclass)",
                strategy=config.name, path=str(folder / "runner.py"),
            )  # fmt: skip
        texts = {kind: _read_instruction(folder, kind, config.name) for kind in INSTRUCTIONS}
    except StrategyDefinitionError as exc:
        return StrategyDefinition(name=exc.strategy, path=folder, source=source,
                                  package=package, error=exc)  # fmt: skip
    return StrategyDefinition(
        name=config.name, path=folder, source=source, package=package, config=config,
        selector_instruction=texts["selector_instruction"],
        adapter_instruction=texts["adapter_instruction"],
    )  # fmt: skip


def _read_config(folder: Path, fallback: str, expected: str) -> StrategyConfig:
    file = folder / "config.yaml"
    where = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StrategyDefinitionError("config.yaml is missing", strategy=fallback,
                                      path=where) from None  # fmt: skip
    except (OSError, UnicodeDecodeError) as exc:
        raise StrategyDefinitionError(f"cannot read: {exc}", strategy=fallback,
                                      path=where) from exc  # fmt: skip
    try:
        doc = read_yaml(text, where)
    except ConfigError as exc:
        raise StrategyDefinitionError(exc.problem, strategy=fallback, path=where,
                                      line=exc.line) from None  # fmt: skip
    if not is_map(doc):
        raise StrategyDefinitionError("expected a mapping of keys with at least 'name'",
                                      strategy=fallback, path=where, line=1)  # fmt: skip
    try:
        config = StrategyConfig.model_validate(plain(doc))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or None
        problem = "required key is missing" if err["type"] == "missing" else err["msg"]
        raise StrategyDefinitionError(problem, strategy=fallback, path=where,
                                      line=line_of(doc, err["loc"]), key=key) from None  # fmt: skip
    if not _NAME.match(config.name) or config.name != expected:
        problem = (
            f"name {config.name!r} must be a plain identifier equal to {expected!r} "
            "(the folder's or entry point's name)"
        )
        raise StrategyDefinitionError(problem, strategy=fallback, path=where,
                                      line=line_of(doc, ["name"]), key="name")  # fmt: skip
    return config


def _read_instruction(folder: Path, kind: str, strategy: str) -> str:
    for suffix in (".md", ".txt"):
        file = folder / f"{kind}{suffix}"
        if file.is_file():
            try:
                return file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise StrategyDefinitionError(f"cannot read: {exc}", strategy=strategy,
                                              path=str(file)) from exc  # fmt: skip
    raise StrategyDefinitionError(f"{kind}.md (or .txt) is missing", strategy=strategy,
                                  path=str(folder / f"{kind}.md"))  # fmt: skip


def _subfolders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _from_path(path: Path) -> list[StrategyDefinition]:
    # A path is a strategy folder itself, or a folder of strategy folders.
    if not path.is_dir():
        error = StrategyDefinitionError("the strategy path is not a folder",
                                        strategy=path.name, path=str(path))  # fmt: skip
        return [StrategyDefinition(name=path.name, path=path, source="path", error=error)]
    if (path / "config.yaml").is_file() or (path / "runner.py").is_file():
        return [read_strategy_folder(path)]
    return [read_strategy_folder(folder) for folder in _subfolders(path)]


def _from_entry_points() -> list[StrategyDefinition]:
    found = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                   key=lambda ep: (ep.name, ep.value))  # fmt: skip
    return [_from_entry_point(ep) for ep in found]


def _from_entry_point(ep: importlib.metadata.EntryPoint) -> StrategyDefinition:
    dist = f" ({ep.dist.name} {ep.dist.version})" if ep.dist is not None else ""
    source = f"entry point {ep.name} = {ep.value}{dist}"
    folder = _package_folder(ep.module)
    if ep.attr or folder is None:
        error = StrategyDefinitionError(
            "a hoist.strategies entry point names an importable strategy package "
            "(its folder holds runner.py and config.yaml)",
            strategy=ep.name, path=source,
        )  # fmt: skip
        return StrategyDefinition(name=ep.name, path=Path(source), source=source, error=error)
    return read_strategy_folder(folder, source, ep.module, expected=ep.name)


def _package_folder(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _mark_duplicates(found: list[StrategyDefinition]) -> list[StrategyDefinition]:
    first: dict[str, StrategyDefinition] = {}
    out: list[StrategyDefinition] = []
    for definition in found:
        if definition.broken:
            out.append(definition)
            continue
        seen = first.get(definition.name)
        if seen is None:
            first[definition.name] = definition
            out.append(definition)
            continue
        error = StrategyDefinitionError(
            f"defined twice; {seen.path} ({seen.source}) is used",
            strategy=definition.name, path=str(definition.path / "config.yaml"), key="name",
        )  # fmt: skip
        out.append(_with_error(definition, error))
    return out


def _with_error(definition: StrategyDefinition, error: StrategyDefinitionError) -> Any:
    return StrategyDefinition(name=definition.name, path=definition.path,
                              source=definition.source, package=definition.package,
                              error=error)  # fmt: skip
