"""What an autolog integration is: a framework's name, the package it needs, and how to
hook that framework's callbacks so its epochs and metrics become Hoist events."""

from __future__ import annotations

import importlib.util
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from hoist.errors import HoistError, MissingExtraError, UserInputError

__all__ = [
    "AutologHandle",
    "FrameworkNotInstalledError",
    "Integration",
    "ThreadScopedHooks",
    "UnknownIntegrationError",
    "detach_all",
    "numeric_metrics",
    "own",
    "runtime_context",
]


class UnknownIntegrationError(UserInputError):
    """``autolog(framework)`` names no known integration; the message lists the known."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        super().__init__(
            f"no autolog integration named {name!r}; known: {', '.join(known) or '(none)'}"
        )


class FrameworkNotInstalledError(MissingExtraError):
    """The framework an integration hooks is not installed; the message says what to
    ``pip install`` (a Hoist extra when Hoist has one, else the framework's package)."""

    def __init__(self, integration: str, module: str, install: str) -> None:
        self.integration, self.install = integration, install
        self.extra, self.module = install, module
        HoistError.__init__(
            self,
            f"autolog {integration!r} needs '{module}', which is not installed; "
            f"install it with: pip install '{install}'",
        )


def runtime_context(target: Any) -> Any:
    """The :class:`~hoist.plugins.context.RuntimeContext` of an action (its ``ctx``),
    or ``target`` itself when it is a context already."""
    ctx = getattr(target, "ctx", target)
    for needed in ("set_progress", "set_metrics", "add_artifact"):
        if not callable(getattr(ctx, needed, None)):
            raise TypeError(f"autolog needs an action or a RuntimeContext, got {type(target)!r}")
    return ctx


def numeric_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """The entries of ``values`` that are numbers or one-element tensors, as floats."""
    out: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            out[str(key)] = float(value)
            continue
        numel = getattr(value, "numel", None)
        if callable(numel) and numel() == 1:
            out[str(key)] = float(value.item())
        elif hasattr(value, "item") and getattr(value, "size", None) == 1:
            out[str(key)] = float(value.item())  # numpy scalar
    return out


class AutologHandle:
    """What :meth:`Integration.attach` returns: :meth:`detach` (also on leaving a
    ``with`` block) undoes the hook; detaching twice is harmless.

    Attributes:
        integration: the integration's name.
        callback: the framework-level callback object, for code that wants to pass it
            itself (e.g. ``Trainer(callbacks=[handle.callback])``); may be ``None``.
    """

    def __init__(self, integration: str, detach: Callable[[], None], callback: Any = None):
        self.integration = integration
        self.callback = callback
        self._detach: Callable[[], None] | None = detach

    @property
    def attached(self) -> bool:
        """Whether :meth:`detach` has not run yet."""
        return self._detach is not None

    def detach(self) -> None:
        """Undo the hook (patches restored, callbacks removed)."""
        detach, self._detach = self._detach, None
        if detach is not None:
            detach()

    def __enter__(self) -> AutologHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()


_OWNED: weakref.WeakKeyDictionary[Any, list[AutologHandle]] = weakref.WeakKeyDictionary()
_OWNED_LOCK = threading.Lock()


def own(owner: Any, handle: AutologHandle) -> AutologHandle:
    """Tie ``handle`` to ``owner`` (an action): :func:`detach_all` on it, or its release,
    detaches the handle."""
    with _OWNED_LOCK:
        _OWNED.setdefault(owner, []).append(handle)
    weakref.finalize(owner, handle.detach)
    return handle


def detach_all(owner: Any) -> int:
    """Detach every handle :func:`own` tied to ``owner``; returns how many were attached.

    Meant for the end of an action's run, so a hook never outlives the run it reports to.
    """
    with _OWNED_LOCK:
        handles = _OWNED.pop(owner, [])
    attached = [handle for handle in handles if handle.attached]
    for handle in attached:
        handle.detach()
    return len(attached)


class ThreadScopedHooks:
    """Callbacks active for the thread that attached them, with a process-wide patch
    installed while any is active and undone when the last one detaches.

    Frameworks build their trainer inside the action's thread; a trainer built on another
    thread (another run of a :class:`~hoist.executors.local.LocalExecutor`) gets nothing.
    """

    def __init__(self, install: Callable[[], Callable[[], None]]) -> None:
        self._install = install
        self._lock = threading.Lock()
        self._active: dict[int, list[Any]] = {}
        self._uninstall: Callable[[], None] | None = None

    def current(self) -> list[Any]:
        """The callbacks attached by the calling thread (a copy)."""
        return list(self._active.get(threading.get_ident(), ()))

    def add(self, callback: Any) -> Callable[[], None]:
        """Activate ``callback`` for this thread; returns the function that removes it."""
        ident = threading.get_ident()
        with self._lock:
            if self._uninstall is None:
                self._uninstall = self._install()
            self._active.setdefault(ident, []).append(callback)

        def remove() -> None:
            with self._lock:
                callbacks = self._active.get(ident, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._active.pop(ident, None)
                if not self._active and self._uninstall is not None:
                    uninstall, self._uninstall = self._uninstall, None
                    uninstall()

        return remove

    @property
    def installed(self) -> bool:
        """Whether the process-wide patch is in place."""
        return self._uninstall is not None


class Integration:
    """One framework's autolog: subclass, set the class attributes, implement :meth:`hook`.

    Class attributes:
        name: what ``self.autolog(name)`` takes.
        aliases: other names accepted for it.
        module: the module that must import for it to work (e.g. ``lightning.pytorch``).
        install: what to ``pip install`` when that module is missing.
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    module: ClassVar[str] = ""
    install: ClassVar[str] = ""

    def available(self) -> bool:
        """Whether :attr:`module` can be imported here."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):
            return False

    def require(self) -> None:
        """Raise :class:`FrameworkNotInstalledError` unless :attr:`module` is installed."""
        if not self.available():
            raise FrameworkNotInstalledError(self.name, self.module, self.install)

    def attach(self, target: Any, **options: Any) -> AutologHandle:
        """Hook the framework for ``target`` (an action or a runtime context).

        Raises:
            FrameworkNotInstalledError: the framework is not installed.
        """
        self.require()
        return self.hook(runtime_context(target), **options)

    def hook(self, ctx: Any, **options: Any) -> AutologHandle:
        """Install the hook reporting to ``ctx`` (the framework is importable)."""
        raise NotImplementedError

    @staticmethod
    def detach(handle: AutologHandle) -> None:
        """Undo what :meth:`attach` did (same as ``handle.detach()``)."""
        handle.detach()
