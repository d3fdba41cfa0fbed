"""What every command shares: the database option, the actor the audit trail names, failing, opening the store."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click

from whiteboard.cli.options import setting_option
from whiteboard.settings import Settings, SettingsError, mask_url
from whiteboard.store import Actor, PoolLimits, Store, migrate, open_store, sqlite_path

CLI_LIMITS = PoolLimits(size=2, max_overflow=2, statement_secs=3600.0)

T = TypeVar("T")


DB_OPTION = setting_option("database_url")


def cli_actor() -> Actor:
    """Who the audit trail names for a command: the operating-system account that ran it."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        user = "unknown"
    return Actor(name=f"cli:{user}", role="admin", source="cli")


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def load_settings(**flags: Any) -> Settings:
    """The settings from the environment and the command's flags, or a clear error (exit status 2)."""
    try:
        return Settings.from_environ(**flags)
    except SettingsError as exc:
        fail(str(exc))


def database_label(url: str) -> str:
    """Which database, for a person: a SQLite file by its absolute path, a server URL with its password masked."""
    try:
        path = sqlite_path(url)
    except ValueError:
        return mask_url(url)
    return f"sqlite file {path.resolve()}" if path is not None else mask_url(url)


def announce_database(url: str) -> None:
    click.echo(f"database: {database_label(url)}", err=True)


def require_existing_database(url: str) -> None:
    """Only `serve` and `db upgrade` may create a SQLite file: anywhere else a new, empty one is a mistake
    (the wrong directory), and a token minted there is one the running server rejects."""
    try:
        path = sqlite_path(url)
    except ValueError as exc:
        fail(str(exc))
    if path is not None and not path.exists():
        fail(
            f"no database at {path.resolve()}; run from the server's directory or set WHITEBOARD_DATABASE_URL "
            "(a new installation creates it with `whiteboard db upgrade` or `whiteboard serve`)"
        )


def open_database(url: str) -> None:
    """Say which database this command uses, and refuse one that does not exist."""
    announce_database(url)
    require_existing_database(url)


def with_store(url: str, fn: Callable[[Store], Awaitable[T]], *, checked: bool = False, upgrade: bool = True) -> T:
    """Run `fn` on an open store, the schema first brought up to date unless `upgrade` is False (a backup
    must copy the database as it is)."""
    if not checked:
        open_database(url)

    async def run() -> T:
        try:
            if upgrade:
                await migrate.upgrade(url)
        except Exception as exc:
            fail(
                f"cannot open the database ({database_label(url)}): {exc}\n"
                "Check WHITEBOARD_DATABASE_URL / --database-url."
            )
        # An operator's command (`audit verify` over years of records) may rightly run long: no 10 s statement limit.
        store = open_store(url, CLI_LIMITS)
        await store.connect()
        try:
            return await fn(store)
        finally:
            await store.aclose()

    return asyncio.run(run())
