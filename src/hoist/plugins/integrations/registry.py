"""The integrations registry: Hoist's built-ins plus any a package declares under the
``hoist.integrations`` entry point group (``name = "module:IntegrationClassOrInstance"``)."""

from __future__ import annotations

import importlib.metadata
from typing import Any

from hoist._entrypoints import resolve_entrypoint
from hoist.plugins.integrations.base import Integration, UnknownIntegrationError

__all__ = ["BUILTINS", "ENTRY_POINT_GROUP", "get_integration", "known_integrations"]

ENTRY_POINT_GROUP = "hoist.integrations"

#: Built-in integrations, imported only when asked for (their frameworks are optional).
BUILTINS: dict[str, str] = {
    "lightning": "hoist.plugins.integrations.lightning:LightningIntegration",
    "transformers": "hoist.plugins.integrations.transformers:TransformersIntegration",
    "ultralytics": "hoist.plugins.integrations.ultralytics:UltralyticsIntegration",
}
_ALIASES = {
    "pytorch_lightning": "lightning",
    "pytorch-lightning": "lightning",
    "lightning.pytorch": "lightning",
    "yolo": "ultralytics",
    "huggingface": "transformers",
    "hf": "transformers",
}


def _entry_points() -> dict[str, str]:
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return {ep.name: ep.value for ep in found}


def known_integrations() -> list[str]:
    """Every framework name ``autolog`` accepts (built-ins and entry points), sorted."""
    return sorted({*BUILTINS, *_entry_points()})


def _instantiate(value: Any, where: str) -> Integration:
    integration = value() if isinstance(value, type) else value
    if not callable(getattr(integration, "attach", None)):
        raise TypeError(f"{where} is not an autolog integration (it has no attach())")
    return integration  # type: ignore[no-any-return]


def get_integration(name: str) -> Integration:
    """The integration for ``name`` (case-insensitive; ``pytorch_lightning`` → ``lightning``).

    Entry points of installed packages come first, so a package can replace a built-in.

    Raises:
        UnknownIntegrationError: no integration has that name; lists the known ones.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    declared = _entry_points()
    if key in declared:
        where = f"entry point {key!r} ({declared[key]}) of group {ENTRY_POINT_GROUP!r}"
        return _instantiate(resolve_entrypoint(declared[key]), where)
    if key in BUILTINS:
        return _instantiate(resolve_entrypoint(BUILTINS[key]), BUILTINS[key])
    raise UnknownIntegrationError(name, known_integrations())
