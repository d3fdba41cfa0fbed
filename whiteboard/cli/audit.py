"""`whiteboard audit`: check the audit trail's hash chains."""

from __future__ import annotations

import sys

import click

from whiteboard.cli.common import DB_OPTION, with_store


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@DB_OPTION
def audit_verify(database_url: str) -> None:
    """Prove the audit chains are intact, or name the first broken record (exit status 1)."""
    records, chains, problem = with_store(database_url, lambda s: s.verify_audit())
    if problem is not None:
        click.echo(f"BROKEN: {problem}", err=True)
        sys.exit(1)
    click.echo(f"intact: {records} records in {chains} chains")
