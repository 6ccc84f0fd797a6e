"""A service's entry point, resolved once: what ``Launch(request, "pkg.module:execute")``
names, and how to call it.

An entry point is given as ``"pkg.module:obj"`` (``obj`` may be dotted:
``"pkg.module:Agent.run"``), ``"pkg.module.obj"``, a callable (a sync or async function,
an object with ``__call__``), or a Hoist plugin action (a ``BaseAction`` subclass or an
``@action`` function). :func:`resolve_entry_point` turns any of them into an
:class:`EntryPoint` or raises :class:`~hoist.errors.EntryPointError` saying why not, so a
launch fails at once instead of leaving a dead run. Strings are resolved through the one
``module:attr`` resolver (:func:`hoist._entrypoints.resolve_entrypoint`) and cached: a
launch never imports again.
"""

from __future__ import annotations

import difflib
import inspect
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from hoist._entrypoints import MissingAttributeError, resolve_entrypoint
from hoist.errors import EntryPointError
from hoist.plugins.decorators import as_action_class, is_action
from hoist.plugins.invoke import run_action, worker_params

__all__ = ["EntryPoint", "resolve_entry_point"]

_NAMES = ("inputs", "tracer")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_cache: dict[str, EntryPoint] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class EntryPoint:
    """A resolved entry point.

    Attributes:
        name: the importable ``"module:qualname"`` of the target (what a worker in
            another process imports), or ``None`` when it has none (a lambda, a local
            function, an object built at run time): see :attr:`label`.
        target: the callable, or the action class of an action entry point.
        is_async: whether calling it gives a coroutine (it runs on the event loop; a
            sync one runs on a thread).
        is_action: whether it is a Hoist plugin action (its inputs are its params).
    """

    name: str | None
    target: Any
    is_async: bool
    is_action: bool
    keywords: tuple[str, ...] = field(default=(), repr=False)
    """The parameters (``inputs``, ``tracer``) passed by name."""
    positional: int = field(default=0, repr=False)
    """How many of ``(inputs, tracer)`` are passed by position (when none is by name)."""

    @property
    def label(self) -> str:
        """A name for messages and records: :attr:`name`, else the target's qualname."""
        if self.name is not None:
            return self.name
        return str(getattr(self.target, "__qualname__", None) or type(self.target).__qualname__)

    def validate_inputs(self, inputs: Any) -> Any:
        """The inputs to record and pass: for an action, its params validated by its
        params model (as JSON data; secret values kept, a run record should mask them:
        :meth:`recorded_inputs`); otherwise ``inputs`` as given (``None`` as ``{}``).

        Raises:
            ParamsValidationError: an action's params are invalid, naming every field.
        """
        if self.is_action:
            return worker_params(as_action_class(self.target).validate_params(inputs))
        return {} if inputs is None else inputs

    def recorded_inputs(self, inputs: Any) -> Any:
        """What a run record shows of validated ``inputs``: an action's params with
        secret values masked (as an action run records them); other inputs as they are."""
        if self.is_action:
            params = as_action_class(self.target).validate_params(inputs)
            return params.model_dump(mode="json")
        return inputs

    def call(self, inputs: Any, tracer: Any) -> Any:
        """Call the entry point with ``inputs`` and/or ``tracer`` as its signature asks
        (a coroutine for an async one: await it). An action runs with ``inputs`` as its
        params, on the tracer's run context, its result checked against its
        ``result_model``."""
        if self.is_action:
            cls = as_action_class(self.target)
            # A tracer is a face over its run's context: the action gets that context.
            return run_action(cls, cls.validate_params(inputs), tracer._ctx)
        if self.keywords:
            given = {"inputs": inputs, "tracer": tracer}
            return self.target(**{name: given[name] for name in self.keywords})
        return self.target(*(inputs, tracer)[: self.positional])


def resolve_entry_point(spec: Any) -> EntryPoint:
    """Resolve ``spec`` (a string, a callable, an action, or an :class:`EntryPoint`).

    Raises:
        EntryPointError: the module is not found or fails to import, it has no such
            attribute (with close names suggested), the object is not callable, or its
            signature asks for parameters other than ``inputs`` and ``tracer``.
    """
    if isinstance(spec, EntryPoint):
        return spec
    if isinstance(spec, str):
        key = spec.strip()
        found = _cache.get(key)
        if found is None:
            found = _from_string(key)
            with _cache_lock:
                found = _cache.setdefault(key, found)
        return found
    return _entry(spec, _importable_name(spec), repr(spec))


# ---------------------------------------------------------------------- strings
def _from_string(spec: str) -> EntryPoint:
    module, colon, qualname = spec.partition(":")
    if colon:
        if not (_DOTTED.match(module) and _DOTTED.match(qualname)):
            raise EntryPointError(spec, "expected 'package.module:object' (object may be dotted)")
        return _entry(_import(spec, module, qualname), f"{module}:{qualname}", spec)
    if not _DOTTED.match(spec) or "." not in spec:
        raise EntryPointError(spec, "expected 'package.module:object' or 'package.module.object'")
    # "a.b.c.d": the longest prefix that is a module, the rest an attribute path in it.
    parts = spec.split(".")
    missing: str | None = None
    for cut in range(len(parts) - 1, 0, -1):
        module, qualname = ".".join(parts[:cut]), ".".join(parts[cut:])
        try:
            target = _import(spec, module, qualname)
        except EntryPointError as exc:
            if exc.missing_module is not None:
                missing = missing or exc.missing_module
                continue
            if missing is not None and getattr(exc.__cause__, "name", None) == parts[cut]:
                # "pkg" imports but has no "mod": "pkg.mod" was meant as a module or as
                # an attribute; say both.
                raise EntryPointError(
                    spec, f"module {missing!r} not found, and {exc.reason}"
                ) from None
            raise
        return _entry(target, f"{module}:{qualname}", spec)
    raise EntryPointError(spec, f"module {missing!r} not found")


def _import(spec: str, module: str, qualname: str) -> Any:
    try:
        return resolve_entrypoint(f"{module}:{qualname}")
    except MissingAttributeError as exc:
        reason = str(exc) + _suggestion(exc.obj, exc.name)
        raise EntryPointError(spec, reason) from exc
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
            not_found = EntryPointError(spec, f"module {exc.name!r} not found")
            not_found.missing_module = exc.name
            raise not_found from None
        raise EntryPointError(spec, f"module {module!r} failed to import: {exc}") from exc
    except Exception as exc:  # the module's own code raised while importing
        problem = f"module {module!r} failed to import: {type(exc).__name__}: {exc}"
        raise EntryPointError(spec, problem) from exc


def _suggestion(owner: Any, name: str | None) -> str:
    if name is None:
        return ""
    names = [n for n in dir(owner) if not n.startswith("_")]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"


# ---------------------------------------------------------------------- objects
def _entry(target: Any, name: str | None, shown: str) -> EntryPoint:
    if is_action(target):
        return EntryPoint(name, as_action_class(target), is_async=False, is_action=True)
    if isinstance(target, type):
        raise EntryPointError(
            shown, f"{target.__qualname__} is a class: name one of its methods or an instance"
        )
    if not callable(target):
        raise EntryPointError(shown, f"a {type(target).__name__} is not callable")
    keywords, positional = _calling(target, shown)
    return EntryPoint(
        name, target, _is_async(target), is_action=False, keywords=keywords, positional=positional
    )


def _is_async(target: Any) -> bool:
    if inspect.iscoroutinefunction(target):
        return True
    call = getattr(type(target), "__call__", None)  # noqa: B004 - the class's, not a callable test
    return not inspect.isroutine(target) and inspect.iscoroutinefunction(call)


def _calling(target: Any, shown: str) -> tuple[tuple[str, ...], int]:
    """How to pass ``inputs`` and ``tracer``: by name when the signature names either
    (or takes ``**kwargs``), else by position to as many positional parameters as it
    has (at most two)."""
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):  # no signature to read (some builtins): kodosumi's way
        return (), 2
    kinds = inspect.Parameter
    by_name = [
        p.name for p in params if p.name in _NAMES and p.kind not in (kinds.POSITIONAL_ONLY,)
    ]
    var_keyword = any(p.kind is kinds.VAR_KEYWORD for p in params)
    if by_name or var_keyword:
        keywords = _NAMES if var_keyword else tuple(n for n in _NAMES if n in by_name)
        others = [p for p in params if p.name not in keywords]
        _check_required(others, shown)
        return keywords, 0
    positional = [
        p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    var_positional = any(p.kind is kinds.VAR_POSITIONAL for p in params)
    count = 2 if var_positional else min(2, len(positional))
    _check_required([p for p in params if p not in positional[:count]], shown)
    return (), count


def _check_required(params: list[inspect.Parameter], shown: str) -> None:
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    required = [p.name for p in params if p.default is p.empty and p.kind not in variadic]
    if required:
        raise EntryPointError(
            shown,
            f"it requires {', '.join(repr(r) for r in required)}; an entry point is "
            "called with 'inputs' and 'tracer' only",
        )


def _importable_name(target: Any) -> str | None:
    """``module:qualname`` when importing that gives back ``target`` itself."""
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    if module == "__main__":
        return None  # another process's __main__ is another program
    try:
        found = resolve_entrypoint(f"{module}:{qualname}")
    except Exception:
        return None
    return f"{module}:{qualname}" if found is target else None
