"""`whiteboard db`: schema migrations (upgrade, current) and an online backup of a SQLite database."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import click

from whiteboard.cli.common import (
    DB_OPTION,
    announce_database,
    cli_actor,
    database_label,
    fail,
    require_existing_database,
    with_store,
)
from whiteboard.domain.clock import utc_now
from whiteboard.store import Store, migrate, sqlite_path
from whiteboard.store.backup import audit_backup, backup_sqlite


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


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@DB_OPTION
def db_backup(target: Path, database_url: str) -> None:
    """Copy the SQLite database to TARGET while the server runs (sqlite3's online backup).

    \b
    Restore: stop the server, move whiteboard.db and its -wal/-shm files aside, copy TARGET to
    whiteboard.db (mode 0600), start the server. PostgreSQL: pg_dump / pg_restore (deploy/README.md).
    """
    announce_database(database_url)
    require_existing_database(database_url)
    source = sqlite_path(database_url)
    if source is None:
        fail(
            "db backup copies a SQLite file; back PostgreSQL up with its own tools: "
            "pg_dump --format=custom --file=whiteboard.dump DBNAME (see deploy/README.md)"
        )
    if target.exists():  # refused before anything is written or audited
        fail(f"{target} exists; choose a new file name (a backup never overwrites one)")

    def audited(action: str, error: str = "") -> str | None:
        """Record `action`; the reason it could not be recorded, else None."""

        async def record(store: Store) -> None:
            await store.write(audit_backup, cli_actor(), action, target, utc_now(), error)

        try:
            with_store(database_url, record, checked=True, upgrade=False)  # the copy is of the schema as it is
        except Exception as exc:  # a locked or unreadable database: say so, never a traceback
            return f"{exc.__class__.__name__}: {exc}"
        return None

    if (why := audited("db.backup")) is not None:
        fail(f"cannot record the backup in the audit trail, so nothing was copied: {why}")
    try:
        pages = backup_sqlite(source, target)
    except (OSError, sqlite3.Error) as exc:
        if (why := audited("db.backup_failed", str(exc))) is not None:
            click.echo(f"warning: the failed backup is not in the audit trail: {why}", err=True)
        fail(f"backup to {target} failed: {exc}")
    click.echo(f"backed up {source.resolve()} to {target.resolve()} ({pages} pages)", err=True)
