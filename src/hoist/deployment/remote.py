"""`EndpointRunner`: a deployment another process serves, called over HTTP at its endpoint.

The manager uses it for a record it does not own whose strategy cannot `attach` to it but
which has an endpoint: `EndpointRunner.run` POSTs the inputs as JSON to
``endpoint + predict_path`` and answers the envelope (an error envelope a server answers
with 422 or 500 stays that error); `EndpointRunner.is_healthy` GETs
``endpoint + health_path``. It cannot start or stop what another process runs.
"""

from __future__ import annotations

from typing import Any

from hoist.deployment.base import Runner
from hoist.deployment.envelope import error_envelope, http_envelope
from hoist.errors import DeploymentError, MissingExtraError

__all__ = ["EndpointRunner"]


class EndpointRunner(Runner):
    """Calls a deployment served at ``endpoint`` by another process.

    Args:
        endpoint: the base URL (``http://127.0.0.1:8123``).
        predict_path: where calls are POSTed.
        health_path: what answers 200 while it is healthy.
        timeout: seconds one call may take.
        owner: who runs it (named by the errors of `start` and `stop`).
        strategy: the deployment's strategy (for errors).
    """

    def __init__(
        self,
        endpoint: str,
        predict_path: str = "/predict",
        health_path: str = "/health",
        *,
        timeout: float = 300.0,
        owner: str | None = None,
        strategy: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not endpoint:
            raise DeploymentError(
                "an endpoint runner needs an endpoint URL", strategy=strategy or "endpoint"
            )
        self.endpoint = endpoint.rstrip("/")
        self.predict_path = "/" + predict_path.lstrip("/")
        self.health_path = "/" + health_path.lstrip("/")
        self.timeout = timeout
        self.owner = owner
        self.strategy = strategy
        self._client: Any = None

    def _http(self) -> Any:
        if self._client is None:
            try:
                import httpx
            except ImportError:  # pragma: no cover - the server extra is missing
                raise MissingExtraError("server", "httpx") from None
            self._client = httpx.Client(base_url=self.endpoint, timeout=self.timeout)
        return self._client

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """POST ``inputs`` to ``endpoint + predict_path``; the envelope it answers.

        Raises:
            DeploymentError: the endpoint cannot be reached (naming it and its owner).
        """
        import httpx

        url = self.endpoint + self.predict_path
        try:
            answer = self._http().post(self.predict_path, json=inputs)
        except httpx.TimeoutException:
            return error_envelope(
                "TimeoutError", f"{url} did not answer within the timeout of {self.timeout:g} s"
            )
        except httpx.TransportError as exc:
            raise DeploymentError(
                self._unreachable(url, exc), strategy=self.strategy or "endpoint"
            ) from exc
        return http_envelope(answer)

    def is_healthy(self) -> bool:
        """Whether ``GET endpoint + health_path`` answers 200."""
        try:
            return bool(self._http().get(self.health_path, timeout=2.0).status_code == 200)
        except Exception:
            return False

    def start(self) -> None:
        """Nothing to start: another process runs it. Raises when it cannot be reached.

        Raises:
            DeploymentError: its health check does not answer 200.
        """
        if not self.is_healthy():
            url = self.endpoint + self.health_path
            raise DeploymentError(
                self._unreachable(url, "its health check did not answer 200"),
                strategy=self.strategy or "endpoint",
            )

    def stop(self) -> None:
        """Not possible from here.

        Raises:
            DeploymentError: always, naming the process that runs it.
        """
        if self._client is not None:
            self._client.close()
            self._client = None
        raise DeploymentError(
            f"cannot stop the deployment at {self.endpoint} from this process: "
            f"{self._owner_text()} runs it; stop it there",
            strategy=self.strategy or "endpoint",
        )

    def close(self) -> None:
        """Close the HTTP client (the deployment keeps running)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _owner_text(self) -> str:
        return f"process {self.owner}" if self.owner else "another process"

    def _unreachable(self, url: str, why: object) -> str:
        return f"cannot reach the deployment at {url} ({self._owner_text()} serves it): {why}"
