"""``python -m hoist.cli`` runs the ``hoist`` command."""

from hoist.cli.main import main

main()
