"""The ``hoist`` command line (one module per command group)."""
