"""``@action``: turn a function ``(params, context) -> result`` into an action.

The decorated function stays a plain function (callable directly in tests). Executors
work with classes, so the decorator also builds a :class:`BaseAction` subclass, reachable
through :func:`as_action_class`; an entrypoint string naming the function resolves to
that class in any process, so function actions run in every executor.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from hoist.plugins.action import AnyParams, BaseAction
from hoist.plugins.categories import PluginCategory

__all__ = ["action", "as_action_class", "is_action"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "__hoist_action__"


@overload
def action(fn: F, /) -> F: ...
@overload
def action(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    params: type[BaseModel] | None = None,
    result: type[BaseModel] | None = None,
    category: PluginCategory | str | None = None,
) -> Callable[[F], F]: ...


def action(
    fn: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    params: type[BaseModel] | None = None,
    result: type[BaseModel] | None = None,
    category: PluginCategory | str | None = None,
) -> F | Callable[[F], F]:
    """Declare a function action; usable bare (``@action``) or with arguments.

    Args:
        name: the action name (default: the function's name).
        description: one line (default: the docstring's first line).
        params: the params model (default: the first parameter's annotation).
        result: a result model the return value must match.
        category: a :class:`PluginCategory`.
    """

    def wrap(func: F) -> F:
        params_model = params or _annotated_model(func) or AnyParams
        doc = (func.__doc__ or "").strip()
        attrs: dict[str, Any] = {
            "action_name": name or func.__name__,
            "description": description if description is not None else doc.split("\n")[0],
            "category": category or PluginCategory.CUSTOM,
            "params_model": params_model,
            "result_model": result,
            "__module__": func.__module__,
            "__qualname__": f"{func.__qualname__}.action",
            "__doc__": func.__doc__,
            "execute": lambda self: func(self.params, self.ctx),
            "function": staticmethod(func),
        }
        cls = type(f"{func.__name__}_action", (BaseAction,), attrs)
        setattr(func, _ATTR, cls)
        return func

    return wrap(fn) if fn is not None else wrap


def _annotated_model(func: Callable[..., Any]) -> type[BaseModel] | None:
    try:
        hints = inspect.get_annotations(func, eval_str=True)
    except (NameError, TypeError):
        return None
    for param in inspect.signature(func).parameters.values():
        hint = hints.get(param.name)
        return hint if isinstance(hint, type) and issubclass(hint, BaseModel) else None
    return None


def is_action(obj: object) -> bool:
    """True for :class:`BaseAction` subclasses and ``@action`` functions."""
    if isinstance(obj, type):
        return issubclass(obj, BaseAction) and obj is not BaseAction
    return callable(obj) and hasattr(obj, _ATTR)


def as_action_class(obj: Any) -> type[BaseAction[Any]]:
    """The action class behind ``obj`` (a :class:`BaseAction` subclass or ``@action`` fn).

    Raises:
        TypeError: ``obj`` is neither.
    """
    if isinstance(obj, type) and issubclass(obj, BaseAction):
        return obj
    cls = getattr(obj, _ATTR, None)
    if cls is None:
        raise TypeError(f"{obj!r} is not an action (a BaseAction subclass or an @action function)")
    return cls  # type: ignore[no-any-return]
