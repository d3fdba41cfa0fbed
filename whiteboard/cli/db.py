"""`whiteboard db`: schema migrations (upgrade, current)."""

from __future__ import annotations

import asyncio

import click

from whiteboard.cli.common import DB_OPTION, announce_database, database_label, fail, require_existing_database
from whiteboard.store import migrate


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@DB_OPTION
def db_upgrade(revision: str, database_url: str) -> None:
    """Bring the schema up to date, creating the database if need be (safe while other instances start)."""
    announce_database(database_url)
    try:
        asyncio.run(migrate.upgrade(database_url, revision))
    except Exception as exc:
        fail(f"cannot open the database ({database_label(database_url)}): {exc}")
    click.echo(f"database at revision {asyncio.run(migrate.current(database_url))}", err=True)


@db.command("current")
@DB_OPTION
def db_current(database_url: str) -> None:
    """Show the schema revision and the newest one this version knows."""
    announce_database(database_url)
    require_existing_database(database_url)
    click.echo(f"current {asyncio.run(migrate.current(database_url))}  head {migrate.head()}")
