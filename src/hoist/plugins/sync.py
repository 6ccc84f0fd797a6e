"""Write the actions found in a plugin's code into its ``config.yaml``, keeping the
user's comments, key order and formatting.

The file is parsed with ruamel's round-trip loader to learn where each key sits; the
changes are then spliced into the original text as new lines (new actions at the end
of ``actions:``, missing fields at the end of their action), so every untouched line
stays byte for byte what it was. When the layout is too unusual to splice (flow-style
mappings), the changed tree is dumped by ruamel instead, and the report says so.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoist._yaml_lines import plain, read_yaml
from hoist.errors import ConfigError
from hoist.plugins.ast_scan import ast_scan_plugin
from hoist.plugins.config import parse_config
from hoist.plugins.loader import PluginNamespace
from hoist.plugins.scan import ActionInfo, scan_package

__all__ = ["SyncReport", "sync_config"]

_FIELDS = ("entrypoint", "description", "input_type", "output_type")


@dataclass
class SyncReport:
    """What :func:`sync_config` did.

    Attributes:
        path: the ``config.yaml``.
        added: actions written as new entries.
        updated: existing entries that got missing fields filled in.
        unchanged: existing entries left as they were.
        removed: entries deleted because their code is gone (only with ``prune``).
        missing: entries whose code was not found, kept (without ``prune``).
        used_ast: the actions came from the AST scan (forced, or importing failed).
        warnings: import failures, skipped files, a re-formatted file.
        written: the file was changed on disk.
    """

    path: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    used_ast: bool = False
    warnings: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def changed(self) -> bool:
        """Whether the config needed changes."""
        return bool(self.added or self.updated or self.removed)


def sync_config(
    root: str | os.PathLike[str],
    *,
    use_ast: bool | None = None,
    prune: bool = False,
    write: bool = True,
) -> SyncReport:
    """Bring ``config.yaml``'s ``actions:`` in line with the plugin's code.

    New actions are added; existing entries keep every field the user set and only get
    missing ``entrypoint`` / ``description`` / ``input_type`` / ``output_type`` filled.
    A missing ``config.yaml`` is created.

    Args:
        root: the plugin folder (or its ``config.yaml``).
        use_ast: ``True``: scan the source only; ``False``: import only (errors raise);
            ``None``: import, falling back to the AST scan when importing fails.
        prune: delete entries whose code is gone.
        write: ``False`` to only report (a dry run).

    Raises:
        ConfigError: the YAML does not parse, or the result would not be a valid config.
    """
    folder = Path(root)
    config_path = folder if folder.is_file() else folder / "config.yaml"
    folder = config_path.parent.resolve()
    report = SyncReport(config_path)
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else _initial(folder)
    doc = read_yaml(text, str(config_path))
    if not hasattr(doc, "lc"):
        raise ConfigError("expected a mapping of keys", path=str(config_path), line=1)
    declared: Any = doc.get("actions")
    entries = plain(declared) if isinstance(declared, dict) else {}
    modules = [str(e.get("entrypoint", "")).partition(":")[0] for e in _maps(entries)]
    infos = _scan(folder, use_ast, report, modules, str(doc.get("code") or folder.name))
    plan = _plan(entries, infos, folder.name, prune, report)
    new_text = _apply(text, doc, plan, report)
    parse_config(new_text, str(config_path))  # never write a config that would not load
    if write and new_text != text:
        _write_atomic(config_path, new_text)
        report.written = True
    return report


def _initial(folder: Path) -> str:
    code = re.sub(r"[^a-z0-9_\-]", "_", folder.name.lower())
    code = code if re.match(r"^[a-z]", code) else f"p_{code}"
    return f"name: {folder.name}\ncode: {code}\n"


def _maps(entries: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in entries.values() if isinstance(e, dict)]


def _scan(
    folder: Path, use_ast: bool | None, report: SyncReport, modules: list[str], code: str
) -> list[ActionInfo]:
    if not use_ast:
        namespace = PluginNamespace(folder, code=code, entry_modules=modules)
        try:
            return scan_package(namespace)
        except Exception as exc:
            if use_ast is False:
                raise ConfigError(f"importing the plugin failed: {exc}", path=str(folder)) from exc
            report.warnings.append(f"importing the plugin failed ({exc}); used the AST scan")
        finally:
            namespace.unload()
    report.used_ast = True
    found = ast_scan_plugin(folder, modules)
    report.warnings.extend(found.warnings)
    return list(found)


@dataclass
class _Plan:
    add: dict[str, dict[str, Any]] = field(default_factory=dict)
    fill: dict[str, dict[str, Any]] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)


def _plan(
    entries: dict[str, Any], infos: list[ActionInfo], alias: str, prune: bool, report: SyncReport
) -> _Plan:
    def norm(entrypoint: Any) -> str:
        return str(entrypoint).removeprefix(f"{alias}.")

    by_entry = {norm(e.get("entrypoint")): k for k, e in entries.items() if isinstance(e, dict)}
    plan, seen = _Plan(), set()
    for info in infos:
        key = by_entry.get(norm(info.entrypoint))
        if key is None and info.name in entries:
            key = info.name
        values = {f: getattr(info, f) for f in _FIELDS if getattr(info, f)}
        if key is None:
            if info.name not in plan.add:
                plan.add[info.name] = values
                report.added.append(info.name)
            continue
        seen.add(key)
        current = entries[key] if isinstance(entries[key], dict) else {}
        missing = {f: v for f, v in values.items() if f not in current}
        if missing:
            plan.fill[key] = missing
            report.updated.append(key)
        elif key not in report.unchanged:
            report.unchanged.append(key)
    for key in entries:
        if key not in seen:
            (report.removed if prune else report.missing).append(key)
    plan.remove = list(report.removed)
    return plan


# ---------------------------------------------------------------------------- editing
def _apply(text: str, doc: Any, plan: _Plan, report: SyncReport) -> str:
    if not (plan.add or plan.fill or plan.remove):
        return text
    expected = _expected(plain(doc), plan)
    try:
        spliced = _splice(text, doc, plan)
    except _CannotSplice:
        spliced = None
    if spliced is not None and _parses_to(spliced, expected):
        return spliced
    report.warnings.append("config.yaml was re-written by the YAML dumper (unusual layout)")
    return _dump(doc, plan)


def _parses_to(text: str, expected: dict[str, Any]) -> bool:
    try:
        return bool(plain(read_yaml(text)) == expected)
    except ConfigError:
        return False


def _expected(data: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    actions = data.get("actions") if isinstance(data.get("actions"), dict) else {}
    assert isinstance(actions, dict)
    for key in plan.remove:
        actions.pop(key, None)
    for key, values in plan.fill.items():
        current = actions.get(key)
        actions[key] = {**(current if isinstance(current, dict) else {}), **values}
    actions.update(plan.add)
    data["actions"] = actions or None
    return data


class _CannotSplice(Exception):
    pass


def _splice(text: str, doc: Any, plan: _Plan) -> str:
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    unit = _indent_unit(doc)
    edits: list[tuple[int, int, list[str]]] = []  # (start, end, replacement), end exclusive
    actions: Any = doc.get("actions")
    if "actions" not in doc:
        body = _render(plan.add, unit, unit, newline)
        edits.append((len(lines), len(lines), [f"actions:{newline}", *body]))
    elif actions is None or _empty_flow(actions):
        line, col = doc.lc.key("actions")
        if actions is not None:  # ``actions: {}`` becomes a block mapping
            flat = re.sub(r"^(\s*actions\s*:\s*)\{\s*\}", r"\1", lines[line].rstrip("\r\n"))
            if flat == lines[line].rstrip("\r\n"):
                raise _CannotSplice
            edits.append((line, line + 1, [flat.rstrip() + newline]))
        edits.append((line + 1, line + 1, _render(plan.add, col + unit, unit, newline)))
    else:
        if not _block_map(actions):
            raise _CannotSplice
        bounds = _bounds(doc, actions, len(lines))
        for key, (start, stop, col) in bounds.items():
            entry = actions[key]
            if key in plan.remove:
                end = _content_end(lines, start + 1, stop, col + 1)
                edits.append((start, end, []))
            elif key in plan.fill:
                if entry is not None and not _block_map(entry):
                    raise _CannotSplice
                child = entry.lc.key(next(iter(entry)))[1] if entry else col + unit
                at = _content_end(lines, start + 1, stop, child)
                edits.append((at, at, _render(plan.fill[key], child, unit, newline)))
        if plan.add:
            line, col = doc.lc.key("actions")
            child = actions.lc.key(next(iter(actions)))[1] if actions else col + unit
            stop = _next_key_line(doc, "actions", len(lines))
            at = _content_end(lines, line + 1, stop, child)
            edits.append((at, at, _render(plan.add, child, unit, newline)))
    # Bottom-up keeps indices valid; at one position the later edit goes in first, so
    # the earlier one ends up above it.
    ordered = sorted(enumerate(edits), key=lambda item: (item[1][0], item[0]), reverse=True)
    for _, (start, end, replacement) in ordered:
        lines[start:end] = replacement
    return "".join(lines)


def _block_map(node: Any) -> bool:
    style: Any = getattr(getattr(node, "fa", None), "flow_style", None)
    return isinstance(node, dict) and bool(node) and style is not None and not style()


def _empty_flow(node: Any) -> bool:
    return isinstance(node, dict) and not node  # only ``{}`` makes an empty mapping


def _bounds(doc: Any, actions: Any, total: int) -> dict[str, tuple[int, int, int]]:
    """``key -> (key line, line after its block, key column)`` for each action."""
    keys = list(actions)
    end = _next_key_line(doc, "actions", total)
    out = {}
    for i, key in enumerate(keys):
        line, col = actions.lc.key(key)
        stop = actions.lc.key(keys[i + 1])[0] if i + 1 < len(keys) else end
        out[key] = (line, stop, col)
    return out


def _next_key_line(doc: Any, key: str, total: int) -> int:
    keys = list(doc)
    index = keys.index(key)
    return int(doc.lc.key(keys[index + 1])[0]) if index + 1 < len(keys) else total


def _content_end(lines: list[str], start: int, stop: int, column: int) -> int:
    """Index after the last line of a block: comments indented less than ``column``
    belong to what follows, blank lines to nobody."""
    end = start
    for index in range(start, min(stop, len(lines))):
        stripped = lines[index].strip()
        if not stripped:
            continue
        indent = len(lines[index]) - len(lines[index].lstrip(" "))
        if not stripped.startswith("#") or indent >= column:
            end = index + 1
    return end


def _indent_unit(doc: Any) -> int:
    for key in doc:
        child = doc[key]
        if _block_map(child):
            unit = child.lc.key(next(iter(child)))[1] - doc.lc.key(key)[1]
            if unit > 0:
                return int(unit)
    return 2


def _yaml(unit: int) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=unit, sequence=unit + 2, offset=unit)
    yaml.width = 4096
    return yaml


def _render(data: dict[str, Any], column: int, unit: int, newline: str) -> list[str]:
    out = io.StringIO()
    _yaml(unit).dump(data, out)
    pad = " " * column
    return [f"{pad}{line}{newline}" for line in out.getvalue().splitlines()]


def _dump(doc: Any, plan: _Plan) -> str:
    from ruamel.yaml.comments import CommentedMap

    unit = _indent_unit(doc)
    actions = doc.get("actions")
    if not isinstance(actions, dict):
        actions = doc["actions"] = CommentedMap()
    actions.fa.set_block_style()
    for key in plan.remove:
        del actions[key]
    for key, values in plan.fill.items():
        if not isinstance(actions.get(key), dict):
            actions[key] = CommentedMap()
        actions[key].fa.set_block_style()
        actions[key].update(values)
    for key, values in plan.add.items():
        actions[key] = CommentedMap(values)
    out = io.StringIO()
    _yaml(unit).dump(doc, out)
    return out.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
