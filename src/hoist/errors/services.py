"""Errors of agent services: locks, entry points, back-pressure, identity, run files."""

from __future__ import annotations

from hoist.errors.base import HoistError, NotFoundError, UserInputError

__all__ = [
    "EntryPointError",
    "IdentityError",
    "LockExpiredError",
    "LockNotFoundError",
    "RunPathError",
    "ServiceBusyError",
    "UploadTooLargeError",
]


class LockNotFoundError(NotFoundError):
    """A service's run asked for a lock (``tracer.lock(name)``) whose form its app never
    declared with ``@app.lock(name)``."""

    kind = "lock"


class LockExpiredError(HoistError):
    """Nobody answered a service's lock within its timeout: the run fails with this.

    Attributes:
        run_id: the run that waited.
        name: the lock's name.
        timeout: the seconds it waited.
    """

    def __init__(self, run_id: str, name: str, timeout: float) -> None:
        self.run_id, self.name, self.timeout = run_id, name, timeout
        super().__init__(
            f"lock {name!r} of run {run_id} expired: nobody answered it within {timeout:g} s"
        )


class EntryPointError(UserInputError):
    """A service's entry point (``"module:obj"``, ``"module.obj"``, a callable or an
    action) cannot be loaded or called: the launch fails at once, no run is left behind.

    Attributes:
        entry_point: the entry point as it was given.
    """

    def __init__(self, entry_point: str, reason: str) -> None:
        self.entry_point, self.reason = entry_point, reason
        self.missing_module: str | None = None  # set when the module itself is not found
        super().__init__(f"entry point {entry_point!r}: {reason}")


class ServiceBusyError(HoistError):
    """A service runs as many executions as it may and its queue is full: nothing was
    launched; try again after ``retry_after`` seconds.

    Attributes:
        service: the service's name.
        retry_after: seconds after which a launch is likely to be admitted.
    """

    def __init__(self, service: str, limit: int, retry_after: float = 1.0) -> None:
        self.service, self.limit, self.retry_after = service, limit, retry_after
        super().__init__(
            f"service {service!r} is busy ({limit} executions running or queued); "
            f"retry after {retry_after:g} s"
        )


class IdentityError(HoistError):
    """A signed identity (``X-Hoist-Identity``) is missing, malformed, forged, expired or
    bound to another run: the request is refused (HTTP 401).

    Attributes:
        reason: why, in a few words (never the token or the secret).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"identity refused: {reason}")


class RunPathError(UserInputError):
    """A path into a run's files leaves the run's folder (``..``, an absolute path, a
    symlink out), or names nothing there.

    Attributes:
        path: the path as it was given.
        reason: why it was refused.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"run file {path!r}: {reason}")


class UploadTooLargeError(UserInputError):
    """An uploaded file, or a request's uploads together, exceed a service's limit
    (HTTP 413); nothing was launched.

    Attributes:
        name: the upload's field (or file) name; ``None`` for the total.
        limit: the limit in bytes.
    """

    def __init__(self, name: str | None, limit: int) -> None:
        self.name, self.limit = name, limit
        what = f"upload {name!r}" if name else "the uploads together"
        super().__init__(f"{what} exceed the limit of {limit} bytes")
