"""Alembic environment. Run through `whiteboard db upgrade` (or at `serve` start-up), which passes a live
connection in `config.attributes["connection"]`, so the same code serves SQLite and asyncpg."""

from __future__ import annotations

from alembic import context

from whiteboard.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `whiteboard db upgrade`, which knows the database URL")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
