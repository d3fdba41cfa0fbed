"""Schema migrations through Alembic, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from whiteboard.store import create_private_sqlite_file, normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: instances starting together take turns instead of racing to create tables.
_PG_LOCK_KEY = 0x57484954  # "WHIT"


def _config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    command.upgrade(_config(connection), revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


async def upgrade(url: str, revision: str = "head") -> None:
    await run_sync(url, _upgrade, revision)


async def current(url: str) -> str | None:
    result: str | None = await run_sync(url, _current)
    return result


async def run_sync(url: str, fn: Any, *args: Any) -> Any:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        create_private_sqlite_file(url)
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                return fn(conn, *args)
        finally:
            engine.dispose()
    aengine = create_async_engine(url)
    try:
        async with aengine.begin() as aconn:
            return await aconn.run_sync(fn, *args)
    finally:
        await aengine.dispose()
