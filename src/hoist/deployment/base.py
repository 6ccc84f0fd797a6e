"""The one extension point of deployment: a `Runner` knows one engine.

A strategy folder's ``runner.py`` holds a `Runner` subclass. The factory builds it with
keyword arguments (``code_path``, ``module``, ``callable``, ``action``, ``app``,
``env_vars``, ``timeout``, ``resources``, ``log_path`` and the strategy's ``settings``);
every runner accepts and ignores the keywords it does not know. A runner given a
``log_path`` appends its service's output to that file.

A runner answers `Runner.input_schema` when it knows the JSON Schema of its inputs, and
its class may `Runner.attach` to a deployment another process (or a cluster) runs.

`Runner.run` answers the envelope ``{"status": "success", "output": ...}`` or
``{"status": "error", "error": {"type": str, "message": str}}``, never a success for an
error. `hoist.deployment.DeployedSoftware` normalises whatever a runner answers to it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hoist.deployment.records import DeploymentRecord

__all__ = ["Runner", "refuse_action_or_app"]


class Runner(ABC):
    """Base class for deployment runners: the only code that knows an engine."""

    @abstractmethod
    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Execute once with ``inputs``.

        Args:
            inputs: the keyword inputs of the deployed callable.

        Returns:
            ``{"status": "success", "output": ...}`` or
            ``{"status": "error", "error": {"type": ..., "message": ...}}``.
        """

    @abstractmethod
    def start(self) -> None:
        """Start (or restart) the service; idempotent."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release every resource; idempotent."""

    @abstractmethod
    def is_healthy(self) -> bool:
        """Whether the service is running and ready to answer `run`."""

    def get_logs(self) -> str:
        """The service's logs so far (``""`` when the engine keeps none)."""
        return ""

    def input_schema(self) -> dict[str, Any] | None:
        """The JSON Schema of the inputs `run` takes, when known (None by default)."""
        return None

    @classmethod
    def engine_python(cls, **settings: Any) -> str | None:
        """The Python of the environment the deployed code runs in, when it is not
        Hoist's (an engine's, `hoist.deployment.engines`): the adapter checks the code's
        import there. None (the default): Hoist's own interpreter."""
        return None

    @classmethod
    def attach(cls, record: DeploymentRecord) -> Runner | None:
        """A runner controlling the existing deployment ``record`` describes, which another
        process (or a cluster) runs; None when this strategy cannot (the default)."""
        return None


def refuse_action_or_app(
    strategy: str,
    action: str | None,
    app: str | None,
    *,
    serves: str = "a callable (module:callable)",
    why: str = "",
    instead: str = "process or ray_serve",
) -> None:
    """Refuse a plugin action or an app for a strategy whose engine serves only ``serves``
    (its environment has no Hoist to run an action or an app).

    Raises:
        DeploymentError: ``action`` or ``app`` is given; the message says what the strategy
            serves, why (``why``) and which strategies deploy it (``instead``).
    """
    if action is None and app is None:
        return
    from hoist.errors import DeploymentError

    what = f"action {action!r}" if action is not None else f"app {app!r}"
    reason = f": {why}" if why else ""
    raise DeploymentError(
        f"the {strategy} strategy serves {serves}, not the {what}{reason}; "
        f"deploy it with the {instead} strategy",
        strategy=strategy,
    )
