"""Who an MCP request acts as, and what agents may see.

Over HTTP a request carries a bearer token (the server's API tokens, the same accounts
and roles as the API: a viewer reads, an operator launches); over stdio the server acts
as the local user who started it. Independently of the caller, settings name the plugins
and actions exposed to agents at all (:attr:`~hoist.settings.Settings.mcp_expose`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from hoist.errors import HoistError
from hoist.server.accounts import Role
from hoist.server.auth import Principal

__all__ = ["Caller", "Exposure", "NotExposedError", "RoleRefusedError"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The account a request acts as.

    Attributes:
        name: the username (the local user's login name over stdio).
        role: the account's role; ``None`` for the local user, who may do everything
            the process itself may.
    """

    name: str
    role: Role | None = None

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        """The caller an authenticated server principal is."""
        return cls(principal.user.username, principal.user.role)

    def allows(self, role: Role) -> bool:
        """Whether this caller holds ``role`` (or a higher one)."""
        return self.role is None or self.role.allows(role)

    def require(self, role: Role, what: str) -> None:
        """Refuse ``what`` unless this caller holds ``role``.

        Raises:
            RoleRefusedError: the caller's role is too low.
        """
        if not self.allows(role):
            raise RoleRefusedError(f"{what} needs the {role} role; {self.name} is {self.role}")


class RoleRefusedError(HoistError):
    """The caller's role does not allow the request (a viewer launching, say)."""


class NotExposedError(HoistError):
    """The plugin or action is not exposed to agents (settings' ``mcp_expose``)."""


@dataclass(frozen=True, slots=True)
class Exposure:
    """The plugins and actions agents may see, as ``fnmatch`` patterns on ``plugin`` or
    ``plugin.action``; no patterns: everything.

    A pattern without a dot names a whole plugin (its actions and pipelines); one with a
    dot names actions (or pipelines) of the plugins it matches.
    """

    patterns: tuple[str, ...] = ()

    def plugin(self, plugin: str) -> bool:
        """Whether anything of ``plugin`` is exposed."""
        if not self.patterns:
            return True
        return any(fnmatchcase(plugin, p.split(".", 1)[0]) for p in self.patterns)

    def action(self, plugin: str, action: str) -> bool:
        """Whether ``plugin.action`` (an action or a pipeline) is exposed."""
        if not self.patterns:
            return True
        name = f"{plugin}.{action}"
        return any(
            fnmatchcase(name, p) if "." in p else fnmatchcase(plugin, p) for p in self.patterns
        )

    def allows(self, plugin: str | None, action: str | None = None) -> bool:
        """Whether agents may use ``plugin`` (or its ``action``); what no plugin owns (a
        service's run, say) is not restricted here."""
        if plugin is None:
            return True
        return self.plugin(plugin) if action is None else self.action(plugin, action)

    def check(self, plugin: str | None, action: str | None = None) -> None:
        """Refuse a plugin (or one of its actions) agents may not use.

        Raises:
            NotExposedError: not exposed (the message does not say whether it exists).
        """
        if not self.allows(plugin, action):
            target = plugin if action is None else f"{plugin}.{action}"
            raise NotExposedError(f"{target} is not exposed to agents (HOIST_MCP_EXPOSE)")
