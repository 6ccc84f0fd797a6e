"""The REST API's routers. Each router carries its full path prefix (so a route's
``path`` is its whole URL template, which the metrics use as a label)."""

API_PREFIX = "/api/v1"
"""Where the API lives."""

__all__ = ["API_PREFIX"]
