"""List a plugin's actions and their params by reading its source, without importing it.

``hoist plugins show`` must work for a plugin that imports ``torch`` on a machine
without ``torch``: this module parses the plugin's ``.py`` files with :mod:`ast` and
finds ``BaseAction`` subclasses (directly, or through the plugin's own base classes),
``@action`` functions, and the fields of their params and result models.

It answers in the same shape as the import-based scan (:mod:`hoist.plugins.scan`):
:class:`~hoist.plugins.scan.ActionInfo` s with their params.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from hoist._entrypoints import resolve_entrypoint
from hoist.plugins.action import BaseAction, _snake
from hoist.plugins.ast_nodes import (
    _CLASSVAR,
    _category,
    _defines,
    _dotted,
    _first_line,
    _literal,
    _param,
    _unwrap,
)
from hoist.plugins.config import DATA_TYPES
from hoist.plugins.loader import plugin_modules, root_alias
from hoist.plugins.scan import ActionInfo, ParamInfo, ScanResult

__all__ = ["ast_scan_plugin"]


def ast_scan_plugin(root: str | Path, entry_modules: list[str] | None = None) -> ScanResult:
    """Find the actions of the plugin in folder ``root`` without importing its code.

    Args:
        root: the plugin folder.
        entry_modules: module parts of the config's entrypoints, to name modules the way
            the config does (``my_plugin.actions`` when the folder is the package).

    Returns:
        The actions, in file order; ``.warnings`` lists files skipped (syntax errors).
    """
    folder = Path(root).resolve()
    alias = root_alias(folder, entry_modules or ())
    scanner = _Scanner(folder, alias)
    return ScanResult(scanner.actions(), scanner.warnings)


@dataclass
class _Module:
    name: str
    tree: ast.Module
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name


class _Scanner:
    def __init__(self, root: Path, alias: str | None) -> None:
        self.root, self.alias = root, alias
        self.modules: dict[str, _Module] = {}
        self.warnings: list[str] = []
        self._actions: dict[tuple[str, str], bool] = {}
        for name, path in plugin_modules(root, alias):
            try:
                tree = ast.parse(path.read_bytes(), filename=str(path))
            except (SyntaxError, ValueError, OSError) as exc:
                where = path.relative_to(root)
                lineno = getattr(exc, "lineno", None)
                at = f"{where}:{lineno}" if lineno else str(where)
                self.warnings.append(f"{at}: {type(exc).__name__}: {exc}; file skipped")
                continue
            self.modules[name] = self._index(name, path, tree)

    def _index(self, name: str, path: Path, tree: ast.Module) -> _Module:
        module = _Module(name, tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                module.classes[node.name] = node
            elif isinstance(node, ast.Import):
                for a in node.names:
                    local = a.asname or a.name.split(".")[0]
                    module.imports[local] = a.name if a.asname else local
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".") if package else []
                    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join([*parts, *([base] if base else [])])
                for a in node.names:
                    module.imports[a.asname or a.name] = f"{base}.{a.name}" if base else a.name
        return module

    # ------------------------------------------------------------------ name lookup
    def _qualified(self, module: _Module, expr: ast.expr) -> str | None:
        dotted = _dotted(expr)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in module.classes and not rest:
            return f"{module.name}.{head}"
        target = module.imports.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def _class(self, qualified: str | None, depth: int = 0) -> tuple[_Module, ast.ClassDef] | None:
        """The plugin class a qualified name refers to (following re-exports)."""
        if qualified is None or depth > 5:
            return None
        module_name, _, attr = qualified.rpartition(".")
        for candidate in (module_name, self._without_alias(module_name)):
            module = self.modules.get(candidate)
            if module is None:
                continue
            if attr in module.classes:
                return module, module.classes[attr]
            if attr in module.imports:
                return self._class(module.imports[attr], depth + 1)
        return None

    def _without_alias(self, module_name: str) -> str:
        # Code may import ``my_plugin.params`` while modules are indexed as ``params``
        # (and the other way round).
        name = self.root.name
        if self.alias:
            inside = module_name == name or module_name.startswith(f"{name}.")
            return module_name if inside else f"{name}.{module_name}"
        return module_name.removeprefix(f"{name}.")

    # ------------------------------------------------------------------ actions
    def actions(self) -> list[ActionInfo]:
        found: list[ActionInfo] = []
        for module in self.modules.values():
            for node in module.tree.body:
                if isinstance(node, ast.ClassDef) and self._is_action(module, node):
                    if self._is_concrete(module, node):
                        found.append(self._class_info(module, node))
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    decorator = self._action_decorator(module, node)
                    if decorator is not None:
                        found.append(self._function_info(module, node, decorator))
        return found

    def _bases(self, module: _Module, node: ast.ClassDef) -> list[tuple[ast.expr, str | None]]:
        out = []
        for base in node.bases:
            target = base.value if isinstance(base, ast.Subscript) else base
            out.append((base, self._qualified(module, target) or _dotted(target)))
        return out

    def _hoist_class(self, qualified: str | None) -> type | None:
        if not qualified or not qualified.startswith("hoist."):
            return None
        module_name, _, attr = qualified.rpartition(".")
        try:
            found = resolve_entrypoint(f"{module_name}:{attr}")
        except (ImportError, AttributeError):
            return None
        return found if isinstance(found, type) else None

    def _is_action(self, module: _Module, node: ast.ClassDef) -> bool:
        key = (module.name, node.name)
        if key not in self._actions:
            self._actions[key] = False  # guards against cyclic bases
            self._actions[key] = any(self._base_is_action(q) for _, q in self._bases(module, node))
        return self._actions[key]

    def _base_is_action(self, qualified: str | None) -> bool:
        if qualified is None:
            return False
        external = self._hoist_class(qualified)
        if external is not None:
            return issubclass(external, BaseAction)
        local = self._class(qualified)
        if local is not None:
            return self._is_action(*local)
        return qualified.rpartition(".")[2] == "BaseAction"

    def _is_concrete(self, module: _Module, node: ast.ClassDef, depth: int = 0) -> bool:
        """Implements ``execute`` or ``setup_steps``, itself or through a base."""
        if depth > 10 or any(_defines(node, name) for name in ("execute", "setup_steps")):
            return depth <= 10
        for _, qualified in self._bases(module, node):
            external = self._hoist_class(qualified)
            if external is not None and issubclass(external, BaseAction):
                implemented = (external.execute, external.setup_steps)
                if implemented != (BaseAction.execute, BaseAction.setup_steps):
                    return True
            local = self._class(qualified)
            if local is not None and self._is_concrete(*local, depth + 1):
                return True
        return False

    def _class_info(self, module: _Module, node: ast.ClassDef) -> ActionInfo:
        attrs = self._class_attrs(module, node)

        def value(name: str) -> ast.expr | None:
            return attrs[name][0] if name in attrs else None

        def owner(name: str) -> _Module:
            return attrs[name][1] if name in attrs else module

        doc = (ast.get_docstring(node) or "").strip()
        name, description = _literal(value("action_name")), _literal(value("description"))
        params, params_owner = value("params_model"), owner("params_model")
        if params is None:
            params, params_owner = self._generic_param(module, node) or (None, module)
        result = value("result_model")
        return ActionInfo(
            name=name if isinstance(name, str) and name else _snake(node.name),
            entrypoint=f"{module.name}:{node.name}",
            description=description if isinstance(description, str) else _first_line(doc),
            category=_category(value("category")),
            params=self._fields(params_owner, params),
            result=self._fields(owner("result_model"), result),
            params_model=_dotted(params) if params is not None else None,
            result_model=_dotted(result) if result is not None else None,
            input_type=self._type_name(owner("input_type"), value("input_type")),
            output_type=self._type_name(owner("output_type"), value("output_type")),
            kind="class",
            source="ast",
        )

    def _class_attrs(
        self, module: _Module, node: ast.ClassDef
    ) -> dict[str, tuple[ast.expr, _Module]]:
        """Class-level assignments (with their module), the plugin's own bases' first."""
        attrs: dict[str, tuple[ast.expr, _Module]] = {}
        for _, qualified in reversed(self._bases(module, node)):
            local = self._class(qualified)
            if local is not None and local[1] is not node:
                attrs.update(self._class_attrs(*local))
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, found = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target, found = stmt.target, stmt.value
            else:
                continue
            if isinstance(target, ast.Name):
                attrs[target.id] = (found, module)
        return attrs

    def _generic_param(
        self, module: _Module, node: ast.ClassDef
    ) -> tuple[ast.expr, _Module] | None:
        for base, qualified in self._bases(module, node):
            if isinstance(base, ast.Subscript):
                return base.slice, module
            local = self._class(qualified)
            if local is not None:
                found = self._generic_param(*local)
                if found is not None:
                    return found
        return None

    def _action_decorator(
        self, module: _Module, node: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> ast.expr | None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            qualified = self._qualified(module, target)
            if qualified and qualified.startswith("hoist") and qualified.endswith("action"):
                return decorator
        return None

    def _function_info(
        self, module: _Module, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr
    ) -> ActionInfo:
        kwargs = (
            {k.arg: k.value for k in decorator.keywords if k.arg}
            if isinstance(decorator, ast.Call)
            else {}
        )
        name, description = _literal(kwargs.get("name")), _literal(kwargs.get("description"))
        params = kwargs.get("params")
        if params is None and node.args.args and node.args.args[0].annotation is not None:
            params = node.args.args[0].annotation
        result = kwargs.get("result")
        return ActionInfo(
            name=name if isinstance(name, str) else node.name,
            entrypoint=f"{module.name}:{node.name}",
            description=description
            if isinstance(description, str)
            else _first_line(ast.get_docstring(node) or ""),
            category=_category(kwargs.get("category")),
            params=self._fields(module, params),
            result=self._fields(module, result),
            params_model=_dotted(params) if params is not None else None,
            result_model=_dotted(result) if result is not None else None,
            kind="function",
            source="ast",
        )

    def _type_name(self, module: _Module, expr: ast.expr | None) -> str | None:
        if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
            return None
        local = self._class(self._qualified(module, expr))
        if local is not None:
            return f"{local[0].name}:{local[1].name}"
        dotted = _dotted(expr)
        if dotted is None:
            return None
        tail = dotted.rpartition(".")[2]
        return tail if tail in DATA_TYPES else dotted

    # ------------------------------------------------------------------ model fields
    def _fields(self, module: _Module, expr: ast.expr | None, depth: int = 0) -> list[ParamInfo]:
        local = self._class(self._qualified(module, expr)) if expr is not None else None
        if local is None or depth > 10:
            return []
        owner, node = local
        fields: dict[str, ParamInfo] = {}
        for base in node.bases:
            for info in self._fields(owner, base, depth + 1):
                fields[info.name] = info
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                if name.startswith("_") or _dotted(_unwrap(stmt.annotation)) in _CLASSVAR:
                    continue
                fields[name] = _param(name, stmt.annotation, stmt.value)
        return list(fields.values())
