"""The `whiteboard` command: a thin click layer over `Settings`, `create_app` and the store; one module
per command group (serve, token, ward, user, display, audit, db, feed, import, retention), what they share in `common`.

Every flag of `serve` is a field of `Settings` (`options` makes it) with its `WHITEBOARD_*` variable; `serve --help`
lists those and every other setting.
May import anything: the command line is the top of the house (import-linter's layers in pyproject.toml).
"""

from __future__ import annotations

import click

from whiteboard import __version__
from whiteboard.cli import audit, db, display, feed, fhir_import, retention, serve, token, user, ward


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="whiteboard")
def main() -> None:
    """Ward Whiteboard: a real-time ward whiteboard server for wall boards and nurses' phones.

    \b
    Quick start (SQLite file + in-process event log, synthetic data):
      whiteboard serve --demo
    Production parts are chosen by URL:
      WHITEBOARD_DATABASE_URL=postgresql://wb@db/wb WHITEBOARD_REDIS_URL=redis://redis:6379/0 whiteboard serve
    """


main.add_command(serve.serve)
main.add_command(token.token)
main.add_command(ward.ward)
main.add_command(user.user)
main.add_command(display.display)
main.add_command(audit.audit_group)
main.add_command(db.db)
main.add_command(feed.feed)
main.add_command(fhir_import.import_bundles)
main.add_command(retention.retention)
