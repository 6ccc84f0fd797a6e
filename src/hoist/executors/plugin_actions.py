"""A plugin's actions as executors record them: a run's options (plugin code, the
action's name and entrypoint, the plugin folder), and the name under which a plugin
declares an action given by name or by class."""

from __future__ import annotations

from typing import Any

from hoist.plugins.decorators import as_action_class

__all__ = ["name_in_plugin", "plugin_run_options"]


def plugin_run_options(plugin: Any, action: str) -> dict[str, Any]:
    """How a run of a plugin's action is recorded: plugin code, the action's name in the
    plugin, its entrypoint, and the plugin folder (so other processes can load it)."""
    meta = {"plugin_path": str(plugin.root)} if plugin.root is not None else {}
    return {
        "plugin": plugin.code,
        "action": action,
        "entrypoint": plugin.entrypoint(action),
        "meta": meta,
    }


def name_in_plugin(plugin: Any, action: Any) -> str | None:
    """The name under which ``plugin`` declares ``action`` (a name or an action class)."""
    actions = plugin.config.actions
    if isinstance(action, str):
        if action not in actions:
            plugin.load_action(action)  # raises ActionNotFoundError with suggestions
        return action
    cls = as_action_class(action)
    function = getattr(cls, "function", None)
    attrs = {cls.__qualname__, getattr(function, "__qualname__", None)}
    for name, entry in actions.items():
        if entry.entrypoint.rpartition(":")[2] in attrs:
            return str(name)
    return cls.action_name if cls.action_name in actions else None
