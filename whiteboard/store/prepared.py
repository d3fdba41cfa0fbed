"""SQLite's hot statements, compiled once and run on the driver's cursor: the write path's fixed cost.

A prebuilt Core statement still costs SQLAlchemy ~50 µs per `Connection.execute` (cache lookup, execution
context, parameter processing, result set-up, events) against ~10 µs for sqlite3 to run it; a bed write runs
six, which made SQLAlchemy about a third of the writer thread's CPU per write at a low rate (docs/PERFORMANCE.md,
issue 9). `Prepared` keeps the one definition (the Core statement) and SQLAlchemy's own type processing
(`DateTime`, `JSON` with the engine's serializer, `LargeBinary`), fetched once per dialect through the public
`TypeEngine.dialect_impl(...).bind_processor/result_processor`; the statement runs in the caller's
transaction on the same DBAPI connection. Driver errors come back as SQLAlchemy's (`DBAPIError.instance`), so
`Store` maps them to 503 as before. PostgreSQL keeps `Connection.execute` (its write is one statement).
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

Processor = Callable[[Any], Any] | None


def run_on_driver(conn: Connection, sql: str, args: Sequence[Any] = ()) -> Any:
    """`sql` on the connection's DBAPI connection (its cursor returned); a driver error raised as SQLAlchemy's."""
    dialect = conn.dialect
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        return driver.execute(sql, args)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, list(args), exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc


class _Plan:
    __slots__ = ("sql", "binds", "results", "row")

    def __init__(
        self, sql: str, binds: Sequence[tuple[str, Processor]], results: Sequence[Processor], row: Any
    ) -> None:
        self.sql = sql
        self.binds = binds
        self.results = results
        self.row = row


class Prepared:
    """One Core statement, compiled for a dialect on first use; `keys` names an INSERT's columns."""

    def __init__(self, statement: Select[Any] | Insert | Update, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        # By dialect object, not id(): a closed engine's id may come back for another whose JSON serializer differs.
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan] = weakref.WeakKeyDictionary()

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.keys)
            if compiled.positiontup is None:
                raise ValueError("Prepared needs a positional paramstyle (SQLite's qmark)")
            binds = [
                (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
                for name in compiled.positiontup
            ]
            columns = list(getattr(self.statement, "selected_columns", ()))
            results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
            row = namedtuple("Row", [c.name for c in columns]) if columns else None
            plan = self._plans[dialect] = _Plan(compiled.string, binds, results, row)
        return plan

    def _run(self, conn: Connection, params: dict[str, Any]) -> tuple[_Plan, Any]:
        plan = self._plan(conn.dialect)
        args = [params[name] if proc is None else proc(params[name]) for name, proc in plan.binds]
        return plan, run_on_driver(conn, plan.sql, args)

    def execute(self, conn: Connection, params: dict[str, Any]) -> None:
        """Run a statement that returns no rows."""
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, params)
            return
        self._run(conn, params)

    def first(self, conn: Connection, params: dict[str, Any]) -> Any:
        """The first row of a SELECT (or None), its values processed as SQLAlchemy would: a named tuple on
        SQLite, SQLAlchemy's own `Row` elsewhere (both read by attribute)."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params).first()
        plan, cursor = self._run(conn, params)
        raw = cursor.fetchone()
        cursor.close()
        if raw is None:
            return None
        return plan.row(*(v if proc is None else proc(v) for v, proc in zip(raw, plan.results, strict=True)))
