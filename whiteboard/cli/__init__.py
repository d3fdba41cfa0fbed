"""The `whiteboard` command: one module per command group (serve, token, ward, user, display, audit,
db); `main` is the entry point `pyproject.toml` names.

May import anything: the command line is the top of the house.
"""

from whiteboard.cli.commands import main

__all__ = ["main"]
