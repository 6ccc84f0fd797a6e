"""Agent services in kodosumi's style, on Hoist's run log (filled in by the services work)."""
