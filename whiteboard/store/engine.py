"""The durable store: SQLite by default, PostgreSQL by URL. Knows nothing of Redis or HTTP.

Every SQL function here is a plain synchronous function of a SQLAlchemy `Connection`, run one of two
ways: for SQLite in dedicated threads (one writer, a few readers; one thread hop per transaction
instead of one per statement, as aiosqlite would cost), for PostgreSQL on the asyncpg driver through
`AsyncConnection.run_sync`. So both backends execute the very same statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from whiteboard.domain.board import WardState
from whiteboard.domain.clock import utc_now
from whiteboard.errors import ApiError
from whiteboard.store import audit, credentials, load_tests, observations, outbox, retention, writes
from whiteboard.store import wards as ward_sql
from whiteboard.store.prepared import run_on_driver
from whiteboard.store.rows import Actor, CredentialRow, OutboxRow, StoreUnavailable, WardInfo, WriteRequest, Written
from whiteboard.types import JSONDict

T = TypeVar("T")
_FUTURE = dt.timedelta(days=1)  # "any row": a cutoff no clock skew between instances reaches
log = logging.getLogger("whiteboard.store")
POOL_RECYCLE_SECS = 1800
# asyncpg's own clock on a statement, past PostgreSQL's statement_timeout: a server that stopped answering
# altogether (blackholed, paused) cannot cancel anything, so the client gives up this much later.
CLIENT_TIMEOUT_MARGIN_SECS = 2.0


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """PostgreSQL's pool and timeouts (settings `db_*`): a database that does not answer means 503 within a
    bound, never a request left hanging. SQLite ignores them (its writer waits `busy_timeout` for a lock)."""

    size: int = 10
    max_overflow: int = 10
    timeout_secs: float = 5.0
    connect_secs: float = 5.0
    statement_secs: float = 10.0
    idle_in_transaction_secs: float = 30.0

    def engine_args(self) -> dict[str, Any]:
        """`create_async_engine` arguments: the pool's bounds, asyncpg's timeouts, the server's session limits."""
        return {
            "pool_size": self.size,
            "max_overflow": self.max_overflow,
            "pool_timeout": self.timeout_secs,
            "connect_args": {
                "timeout": self.connect_secs,
                "command_timeout": self.statement_secs + CLIENT_TIMEOUT_MARGIN_SECS,
                "server_settings": {
                    "statement_timeout": str(round(self.statement_secs * 1000)),
                    "idle_in_transaction_session_timeout": str(round(self.idle_in_transaction_secs * 1000)),
                },
            },
        }


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def normalise_url(url: str) -> str:
    """Accept the URLs operators write (`postgres://`, `sqlite:///x.db`) and pick our drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}:
        parsed = parsed.set(drivername="sqlite+pysqlite")
    elif parsed.drivername != "postgresql+asyncpg":
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///path.db or postgresql://user@host/db"
        )
    return parsed.render_as_string(hide_password=False)


class Store:
    """Async facade over the database. Construct with `open_store(url)`, then `await connect()`."""

    def __init__(self, url: str, limits: PoolLimits | None = None) -> None:
        self.url = normalise_url(url)
        self.limits = limits or PoolLimits()
        self.is_sqlite = self.url.startswith("sqlite")
        self.name = "sqlite" if self.is_sqlite else "postgresql"
        self._writer_engine: Engine | None = None
        self._reader_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None
        self._writer_conn: Connection | None = None  # SQLite: the one writer's connection, kept (writer thread only)

    # --- lifecycle ---

    async def connect(self) -> None:
        if self.is_sqlite:
            self._writer_engine = _sqlite_engine(self.url, immediate=True, pool_size=1)
            self._reader_engine = _sqlite_engine(self.url, immediate=False, pool_size=4)
            self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="wb-sqlite-writer")
            self._reader_pool = ThreadPoolExecutor(4, thread_name_prefix="wb-sqlite-reader")
        else:
            # No pre-ping: asyncpg's costs three round trips (BEGIN, `;`, ROLLBACK) on every checkout, i.e. on
            # every write. A dead pooled connection (a restarted or failed-over server) shows on the first
            # statement instead, and `_run_async` retries that once on a fresh connection; `pool_recycle`
            # retires connections before middleboxes' idle timeouts silently drop them.
            self._async_engine = create_async_engine(
                self.url,
                pool_pre_ping=False,
                pool_recycle=POOL_RECYCLE_SECS,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
                **self.limits.engine_args(),
            )

    async def aclose(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()
        if self._writer_pool is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer_pool, self._drop_writer_conn)
        for pool in (self._writer_pool, self._reader_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        for engine in (self._writer_engine, self._reader_engine):
            if engine is not None:
                engine.dispose()

    async def _run(self, fn: Callable[..., T], *args: Any, write: bool) -> T:
        try:
            if self._async_engine is not None:
                return await self._run_async(self._async_engine, fn, args)
            loop = asyncio.get_running_loop()
            if write:
                assert self._writer_pool is not None, "Store used before connect()"
                return await loop.run_in_executor(self._writer_pool, self._in_write_transaction, fn, args)
            assert self._reader_engine is not None and self._reader_pool is not None, "Store used before connect()"
            return await loop.run_in_executor(self._reader_pool, _in_transaction, self._reader_engine, fn, args)
        except ApiError:
            raise
        except IntegrityError:
            raise
        except (OperationalError, DBAPIError, PoolTimeout, OSError, ConnectionError) as exc:
            raise StoreUnavailable(f"{self.name} does not answer: {exc.__class__.__name__}: {exc}") from exc

    def _in_write_transaction(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """SQLite's one writer keeps its connection: a pool checkout, reset and return per transaction cost more
        CPU than the statements of a one-bed write (docs/PERFORMANCE.md, issue 9). Runs in the writer thread."""
        conn = self._writer_conn
        if conn is None or conn.closed or conn.invalidated:
            assert self._writer_engine is not None, "Store used before connect()"
            conn = self._writer_conn = self._writer_engine.connect()
        try:
            with conn.begin():
                return fn(conn, *args)
        except DBAPIError as exc:
            if not isinstance(exc, IntegrityError):  # a refused row leaves the connection sound
                self._drop_writer_conn()  # a fresh connection next time, whatever state this one was left in
            raise

    def _drop_writer_conn(self) -> None:
        conn, self._writer_conn = self._writer_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    @staticmethod
    async def _run_async(engine: AsyncEngine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """One transaction; when the connection turns out dead before COMMIT, once more on a fresh one.

        A connection lost before COMMIT was sent leaves nothing committed (the server rolls the
        transaction back), so running `fn` again cannot write twice. A loss during COMMIT is ambiguous
        and is not retried: the caller gets StoreUnavailable, as before.
        """
        for attempt in (1, 2):
            committing = False
            try:
                async with engine.begin() as aconn:
                    result = await aconn.run_sync(fn, *args)
                    committing = True
                return result
            except DBAPIError as exc:
                if attempt == 2 or committing or not exc.connection_invalidated:
                    raise
                log.warning("store: a pooled connection was dead (%s); retrying on a fresh one", exc.orig)
        raise AssertionError("unreachable")

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run(fn, *args, write=False)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run(fn, *args, write=True)

    async def ping(self) -> None:
        await self.read(_ping)

    # --- the write path ---

    async def apply_batch(self, batch: Sequence[WriteRequest]) -> list[Written | ApiError]:
        """Group commit: all requests in one transaction; a refused one raised before writing anything."""
        return await self.write(writes.write_batch, list(batch), utc_now())

    # --- reads and administration ---

    async def load_ward(self, ward_id: str) -> WardState | None:
        return await self.read(ward_sql.load_ward, ward_id)

    async def list_wards(self) -> list[WardInfo]:
        return await self.read(ward_sql.list_wards)

    async def wards_seeded_by(self, source: str) -> list[str]:
        """The wards a seeder (the demo's `source`) filled, so its feed never touches a ward added for real."""
        return await self.read(ward_sql.seeded_ward_ids, source)

    async def add_wards(self, wards: Iterable[tuple[str, str, list[tuple[str, str]]]], *, actor: Actor) -> list[str]:
        """Create wards with (id, name, [(bed id, bay)]); returns the ids created (existing ones are skipped)."""
        return await self.write(ward_sql.add_wards, list(wards), actor, utc_now())

    async def seed_beds(self, ward_id: str, beds: list[JSONDict], actor: Actor) -> None:
        await self.write(ward_sql.seed_beds, ward_id, beds, actor, utc_now())

    async def create_credential(
        self, role: str, wards: tuple[str, ...] | None, label: str, *, actor: Actor
    ) -> tuple[str, str]:
        """Returns (credential id, the token). Only the token's hash is stored; the audit names `actor`."""
        token = credentials.new_token()
        cred_id = secrets.token_hex(8)
        token_hash = credentials.hash_token(token)
        now = utc_now()
        await self.write(credentials.insert_credential, cred_id, token_hash, role, wards, label, actor, now)
        return cred_id, token

    async def find_credential(self, token_hash: str) -> CredentialRow | None:
        return await self.read(credentials.find_credential, token_hash)

    async def list_credentials(self) -> list[CredentialRow]:
        return await self.read(credentials.list_credentials)

    async def revoke_credential(self, cred_id: str, actor: Actor) -> bool:
        """Revoke; the audit record names who did it."""
        return await self.write(credentials.revoke_credential, cred_id, actor, utc_now())

    async def pending_outbox(self, limit: int = 1000) -> list[OutboxRow]:
        return await self.read(outbox.pending_outbox, limit)

    async def backlog_wards(self, older_than_secs: float = 0.0) -> list[tuple[str, int]]:
        """(ward, newest such seq) for wards whose outbox holds rows committed more than `older_than_secs` ago
        (0: any row)."""
        before = utc_now() - dt.timedelta(seconds=older_than_secs) if older_than_secs else utc_now() + _FUTURE
        return await self.read(outbox.backlog_wards, before)

    @contextlib.asynccontextmanager
    async def outbox_lease(self, ward_id: str) -> AsyncIterator[bool]:
        """While held, no other instance sweeps this ward's outbox (True), or another one is at it now (False).

        PostgreSQL: a transaction-scoped advisory lock on a connection of the pool, held for the block and
        released by its COMMIT, or by the server if this instance dies or the session is ended (the
        `idle_in_transaction_session_timeout`). Only an efficiency: appends are idempotent and gap-checked, so
        two sweepers can never lose or double an event; the lease keeps N instances from appending one
        backlog N times. SQLite serves one instance: always True.
        """
        if self._async_engine is None:
            yield True
            return
        try:
            aconn = await self._async_engine.connect()
        except (DBAPIError, PoolTimeout, OSError) as exc:
            raise StoreUnavailable(f"{self.name} does not answer: {exc.__class__.__name__}: {exc}") from exc
        try:
            trans = await aconn.begin()
            try:
                held = await aconn.run_sync(outbox.try_lease, ward_id)
            except (DBAPIError, OSError) as exc:
                raise StoreUnavailable(f"{self.name} does not answer: {exc.__class__.__name__}: {exc}") from exc
            try:
                yield held
            finally:
                with contextlib.suppress(Exception):
                    await trans.commit()
        finally:
            with contextlib.suppress(Exception):
                await aconn.close()

    async def outbox_rows(self, ward_id: str, after: int, upto: int) -> list[OutboxRow]:
        return await self.read(outbox.outbox_rows, ward_id, after, upto)

    async def delete_outbox(self, tops: dict[str, int]) -> int:
        return await self.write(outbox.delete_outbox, dict(tops))

    async def record_load_test(self, result: dict[str, Any], *, actor: Actor) -> JSONDict:
        """Keep a load-test result (`finished_at` a datetime); the audit record names `actor`. Returns it as stored."""
        return await self.write(load_tests.insert_load_test, dict(result), actor, utc_now())

    async def load_tests(self, limit: int = 1) -> list[JSONDict]:
        """The latest load-test results, newest run first."""
        return await self.read(load_tests.list_load_tests, limit)

    async def patient_observations(
        self,
        *,
        nhs_number: str | None = None,
        name: str | None = None,
        admitted_at: str | None = None,
        ward_id: str | None = None,
        limit: int = 100,
    ) -> list[JSONDict]:
        """A patient's charted observation sets, newest first: by NHS number, else by name and admission time
        (as the patient record holds them; both move with the patient on a transfer). For FHIR Observation."""
        return await self.read(observations.patient_observations, nhs_number, name, admitted_at, ward_id, limit)

    async def observations_by_id(self, ids: list[int]) -> list[JSONDict]:
        """Charted sets by their ids (FHIR `Observation/o{id}`), whoever they belong to: the caller scopes them."""
        return await self.read(observations.observations_by_id, ids)

    async def purge_identifiers(
        self, days: int, *, dry_run: bool = False, now: dt.datetime | None = None, limit: int = retention.BATCH
    ) -> retention.PurgeReport:
        """Retention: purge the identifiers of patients who left a bed more than `days` before `now`, at most
        `limit` of them (the report says how many remain); audited, one record per ward (store/retention.py).
        Planned by reading, so the writer is held only when there is something to purge. `dry_run` counts
        everyone due and changes nothing."""
        now = now or utc_now()
        cutoff = now - dt.timedelta(days=days)
        plan = await self.read(retention.plan, cutoff, None if dry_run else limit)
        if dry_run or plan.empty:
            return plan.report()
        return await self.write(retention.apply, plan, now)

    async def verify_audit(self) -> tuple[int, int, str | None]:
        return await self.read(audit.verify_chains)

    async def audit(
        self,
        *,
        ward: str | None = None,
        wards: tuple[str, ...] | None = None,
        bed: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int = 500,
        person: str | None = None,
        before: int | None = None,
    ) -> list[JSONDict]:
        """Newest first; `before` (a record id) pages back through older records."""
        return await self.read(audit.query, ward, wards, bed, since, until, limit, person, before)


def open_store(url: str, limits: PoolLimits | None = None) -> Store:
    return Store(url, limits)


PRIVATE_FILE_MODE = 0o600


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL and for in-memory SQLite."""
    parsed = make_url(normalise_url(url))
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_private_sqlite_file(url: str) -> None:
    """Create a missing SQLite file with mode 0600, whatever the umask: it holds patient data.

    SQLite creates the -wal and -shm files with the database file's own mode, so they follow.
    An existing file is left as its owner set it.
    """
    path = sqlite_path(url)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # the umask may have taken bits we need (0o200 would make it read-only)
    finally:
        os.close(fd)


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int) -> Engine:
    create_private_sqlite_file(url)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver so SQLAlchemy's `begin` below decides how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a nurse told "saved" must not lose the change to a power cut.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock. Sent
        # on the driver: `exec_driver_sql` cost a full SQLAlchemy execution per transaction (store/prepared.py).
        run_on_driver(conn, begin)

    return engine


def _in_transaction(engine: Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with engine.begin() as conn:
        return fn(conn, *args)


def _ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))
