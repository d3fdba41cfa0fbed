"""The durable store: SQLite by default, PostgreSQL by URL. Knows nothing of Redis or HTTP.

Every SQL function here is a plain synchronous function of a SQLAlchemy `Connection`, run one of two
ways: for SQLite in dedicated threads (one writer, a few readers; one thread hop per transaction
instead of one per statement, as aiosqlite would cost), for PostgreSQL on the asyncpg driver through
`AsyncConnection.run_sync`. So both backends execute the very same statements.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import Connection, Table, bindparam, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from whiteboard.domain import beds as domain
from whiteboard.domain.offsets import log_name
from whiteboard.errors import ApiError, NotFound, PreconditionFailed
from whiteboard.store import audit
from whiteboard.store.models import AuditChain, AuditRecord, Bed, Credential, Outbox, Ward
from whiteboard.types import JSONDict

T = TypeVar("T")


class StoreUnavailable(Exception):
    """The database does not answer; mapped to 503."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit trail and the event's `by`."""

    name: str
    role: str
    credential_id: str | None = None
    # api | phone | demo | feed:hl7 | cli | admin-page | pairing | login | oidc
    source: str = "api"

    def audit_fields(self) -> dict[str, Any]:
        """The columns of an audit record that say who acted."""
        return {"actor": self.name, "credential_id": self.credential_id, "role": self.role, "source": self.source}


@dataclass(slots=True)
class WriteRequest:
    ward_id: str
    bed_id: str | None  # None for ward-level changes (the display profile)
    patch: domain.BedPatch | domain.DisplayProfile | domain.ReadRecord
    actor: Actor
    # The version the client last saw of this bed (a bed ETag, or a ward ETag: a ward position covers
    # every bed); the write is refused when the bed changed after it. None: unconditional.
    if_match_seq: int | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """An accepted write. `event` is None when the update changed nothing (no new sequence number)."""

    ward_id: str
    log: str
    seq: int
    event: JSONDict | None
    payload: bytes | None
    version: int | None = None  # the bed's version after the write (bed writes only)


@dataclass(frozen=True, slots=True)
class WardInfo:
    id: str
    uid: str
    name: str
    beds: int

    @property
    def log(self) -> str:
        return log_name(self.id, self.uid)


@dataclass(slots=True)
class WardState:
    """A ward as committed at sequence `seq`: what a ward view starts from."""

    id: str
    uid: str
    name: str
    seq: int
    display_fields: frozenset[str] | None
    beds: list[JSONDict] = field(default_factory=list)

    @property
    def log(self) -> str:
        return log_name(self.id, self.uid)


@dataclass(frozen=True, slots=True)
class CredentialRow:
    id: str
    role: str
    wards: tuple[str, ...] | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    ward_id: str
    seq: int
    log: str
    payload: bytes


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


def _aware(ts: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back; everything we store is UTC."""
    if ts is None or ts.tzinfo is not None:
        return ts
    return ts.replace(tzinfo=dt.UTC)


class Store:
    """Async facade over the database. Construct with `open_store(url)`, then `await connect()`."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self.name = "sqlite" if self.is_sqlite else "postgresql"
        self._writer_engine: Engine | None = None
        self._reader_engine: Engine | None = None
        self._async_engine: AsyncEngine | None = None
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None

    # --- lifecycle ---

    async def connect(self) -> None:
        if self.is_sqlite:
            self._writer_engine = _sqlite_engine(self.url, immediate=True, pool_size=1)
            self._reader_engine = _sqlite_engine(self.url, immediate=False, pool_size=4)
            self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="wb-sqlite-writer")
            self._reader_pool = ThreadPoolExecutor(4, thread_name_prefix="wb-sqlite-reader")
        else:
            self._async_engine = create_async_engine(
                self.url,
                pool_size=10,
                max_overflow=10,
                pool_pre_ping=True,
                json_serializer=_dumps,
                json_deserializer=orjson.loads,
                connect_args={"timeout": 5, "command_timeout": 30},
            )

    async def aclose(self) -> None:
        if self._async_engine is not None:
            await self._async_engine.dispose()
        for pool in (self._writer_pool, self._reader_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        for engine in (self._writer_engine, self._reader_engine):
            if engine is not None:
                engine.dispose()

    async def _run(self, fn: Callable[..., T], *args: Any, write: bool) -> T:
        try:
            if self._async_engine is not None:
                async with self._async_engine.begin() as aconn:
                    return await aconn.run_sync(fn, *args)
            engine = self._writer_engine if write else self._reader_engine
            pool = self._writer_pool if write else self._reader_pool
            assert engine is not None and pool is not None, "Store used before connect()"
            return await asyncio.get_running_loop().run_in_executor(pool, _in_transaction, engine, fn, args)
        except ApiError:
            raise
        except IntegrityError:
            raise
        except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
            raise StoreUnavailable(f"{self.name} does not answer: {exc.__class__.__name__}: {exc}") from exc

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run(fn, *args, write=False)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._run(fn, *args, write=True)

    async def ping(self) -> None:
        await self.read(_ping)

    # --- the write path ---

    async def apply_batch(self, batch: Sequence[WriteRequest]) -> list[Written | ApiError]:
        """Group commit: all requests in one transaction; a refused one raised before writing anything."""
        return await self.write(_write_batch, list(batch), domain.utc_now())

    # --- reads and administration ---

    async def load_ward(self, ward_id: str) -> WardState | None:
        return await self.read(_load_ward, ward_id)

    async def list_wards(self) -> list[WardInfo]:
        return await self.read(_list_wards)

    async def add_wards(self, wards: Iterable[tuple[str, str, list[tuple[str, str]]]], *, actor: Actor) -> list[str]:
        """Create wards with (id, name, [(bed id, bay)]); returns the ids created (existing ones are skipped)."""
        return await self.write(_add_wards, list(wards), actor, domain.utc_now())

    async def seed_beds(self, ward_id: str, beds: list[JSONDict], actor: Actor) -> None:
        await self.write(_seed_beds, ward_id, beds, actor, domain.utc_now())

    async def create_credential(
        self, role: str, wards: tuple[str, ...] | None, label: str, *, actor: Actor
    ) -> tuple[str, str]:
        """Returns (credential id, the token). Only the token's hash is stored; the audit names `actor`."""
        from whiteboard.access.auth import hash_token, new_token

        token = new_token()
        cred_id = secrets.token_hex(8)
        await self.write(_insert_credential, cred_id, hash_token(token), role, wards, label, actor, domain.utc_now())
        return cred_id, token

    async def find_credential(self, token_hash: str) -> CredentialRow | None:
        return await self.read(_find_credential, token_hash)

    async def list_credentials(self) -> list[CredentialRow]:
        return await self.read(_list_credentials)

    async def revoke_credential(self, cred_id: str, actor: Actor) -> bool:
        """Revoke; the audit record names who did it."""
        return await self.write(_revoke_credential, cred_id, actor, domain.utc_now())

    async def pending_outbox(self, limit: int = 1000) -> list[OutboxRow]:
        return await self.read(_pending_outbox, limit)

    async def outbox_rows(self, ward_id: str, after: int, upto: int) -> list[OutboxRow]:
        return await self.read(_outbox_rows, ward_id, after, upto)

    async def delete_outbox(self, tops: dict[str, int]) -> int:
        return await self.write(_delete_outbox, dict(tops))

    async def verify_audit(self) -> tuple[int, int, str | None]:
        return await self.read(_verify_audit)

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
        return await self.read(_audit, ward, wards, bed, since, until, limit, person, before)


def open_store(url: str) -> Store:
    return Store(url)


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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _in_transaction(engine: Engine, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with engine.begin() as conn:
        return fn(conn, *args)


def _ping(conn: Connection) -> None:
    conn.execute(text("SELECT 1"))


# --- SQL functions (synchronous, one transaction each, shared by both backends) ---

_W = cast(Table, Ward.__table__)
_B = cast(Table, Bed.__table__)
_O = cast(Table, Outbox.__table__)
_A = cast(Table, AuditRecord.__table__)
_C = cast(Table, Credential.__table__)
_AC = cast(Table, AuditChain.__table__)


def _write_batch(conn: Connection, batch: list[WriteRequest], now: dt.datetime) -> list[Written | ApiError]:
    results: list[Written | ApiError] = []
    for req in batch:
        try:
            results.append(_write_one(conn, req, now))
        except ApiError as exc:  # refused before any statement wrote: nothing to undo
            results.append(exc)
    return results


# The hot path's statements are built once: constructing a Core statement per call costs ~5x its
# execution (measured in benchmarks/write_path.py), and a write runs six of them.
_SEL_WARD = (
    select(_W.c.seq, _W.c.uid, _W.c.audit_pos, _W.c.audit_head).where(_W.c.id == bindparam("ward")).with_for_update()
)
_SEL_BED = select(_B.c.status, _B.c.notes, _B.c.patient, _B.c.seq).where(
    _B.c.ward_id == bindparam("ward"), _B.c.id == bindparam("bed")
)
_SEL_PATIENTS = select(_B.c.id, _B.c.patient).where(_B.c.ward_id == bindparam("ward"))
# A ward's audit-chain head lives on its row: the write already locks and updates it.
_UPD_SEQ = (
    update(_W)
    .where(_W.c.id == bindparam("ward"))
    .values(seq=bindparam("seq"), audit_pos=bindparam("a_pos"), audit_head=bindparam("a_head"))
)
_UPD_BED = (
    update(_B)
    .where(_B.c.ward_id == bindparam("ward"), _B.c.id == bindparam("bed"))
    .values(status=bindparam("status"), notes=bindparam("notes"), patient=bindparam("patient"),
            updated_at=bindparam("now"), seq=bindparam("seq"))
)
_INS_OUTBOX = insert(_O)
_INS_AUDIT = insert(_A)
_SEL_CHAIN = select(_AC.c.pos, _AC.c.head).where(_AC.c.chain == bindparam("chain")).with_for_update()
_UPD_CHAIN = (
    update(_AC).where(_AC.c.chain == bindparam("c_chain")).values(pos=bindparam("c_pos"), head=bindparam("c_head"))
)
_INS_CHAIN = insert(_AC)
_AUDIT_DEFAULTS: dict[str, Any] = dict.fromkeys(
    ("credential_id", "ward_id", "bed_id", "seq", "before", "after", "request_id")
)


def _audit_append(conn: Connection, *, head: tuple[int, str] | None = None, **fields: Any) -> tuple[int, str]:
    """Add a record to its chain (the ward's, or `_system`) in the caller's transaction; returns the new head.

    A caller holding the ward row passes its `head` and stores the returned one with its own ward
    update (no extra statements on the hot path); otherwise the head is locked and stored here.
    """
    chain = fields.get("ward_id") or audit.SYSTEM_CHAIN
    store_head = head is None
    if head is None:
        head = _lock_head(conn, chain)
    pos, prev = head
    record = {**_AUDIT_DEFAULTS, **fields, "chain": chain, "pos": pos + 1, "prev_hash": prev}
    record["hash"] = audit.record_hash(record)
    conn.execute(_INS_AUDIT, record)
    new_head = (pos + 1, str(record["hash"]))
    if store_head:
        if chain == audit.SYSTEM_CHAIN:
            conn.execute(_UPD_CHAIN, {"c_chain": chain, "c_pos": new_head[0], "c_head": new_head[1]})
        else:
            conn.execute(_UPD_WARD_HEAD, {"ward": chain, "a_pos": new_head[0], "a_head": new_head[1]})
    return new_head


_SEL_WARD_HEAD = select(_W.c.audit_pos, _W.c.audit_head).where(_W.c.id == bindparam("ward")).with_for_update()
_UPD_WARD_HEAD = (
    update(_W).where(_W.c.id == bindparam("ward")).values(audit_pos=bindparam("a_pos"), audit_head=bindparam("a_head"))
)


def _lock_head(conn: Connection, chain: str) -> tuple[int, str]:
    if chain != audit.SYSTEM_CHAIN:
        row = conn.execute(_SEL_WARD_HEAD, {"ward": chain}).first()
        if row is None:
            raise NotFound(f"there is no ward {chain!r}")
        return int(row.audit_pos), str(row.audit_head)
    row = conn.execute(_SEL_CHAIN, {"chain": chain}).first()
    if row is None:  # created by the migration; recreate if someone removed it
        conn.execute(_INS_CHAIN, {"chain": chain, "pos": 0, "head": audit.GENESIS})
        return 0, audit.GENESIS
    return int(row.pos), str(row.head)


def _write_one(conn: Connection, req: WriteRequest, now: dt.datetime) -> Written:
    ward = conn.execute(_SEL_WARD, {"ward": req.ward_id}).first()
    if ward is None:
        raise NotFound(f"there is no ward {req.ward_id!r}")
    log = log_name(req.ward_id, ward.uid)
    head = (int(ward.audit_pos), str(ward.audit_head))
    if isinstance(req.patch, domain.ReadRecord):
        pos, digest = _audit_append(
            conn, head=head, at=now, actor=req.actor.name, credential_id=req.actor.credential_id,
            role=req.actor.role, source=req.actor.source, action=req.patch.action, ward_id=req.ward_id,
            bed_id=req.bed_id, seq=ward.seq, after=req.patch.detail, request_id=req.request_id,
        )
        conn.execute(_UPD_WARD_HEAD, {"ward": req.ward_id, "a_pos": pos, "a_head": digest})
        return Written(req.ward_id, log, ward.seq, None, None)
    if isinstance(req.patch, domain.DisplayProfile):
        return _write_display_profile(conn, req, req.patch, ward.seq, head, log, now)
    row = conn.execute(_SEL_BED, {"ward": req.ward_id, "bed": req.bed_id}).first()
    if row is None:
        raise NotFound(f"ward {req.ward_id!r} has no bed {req.bed_id!r}")
    version = int(row.seq)
    if req.if_match_seq is not None and not version <= req.if_match_seq <= ward.seq:
        raise PreconditionFailed(
            f"bed {req.bed_id} has changed since you loaded it (If-Match is stale): reload the bed and apply "
            "your edit again"
        )
    bed = {"status": row.status, "notes": row.notes, "patient": row.patient}
    change = domain.apply_patch(bed, req.patch, now)
    if change is None:
        return Written(req.ward_id, log, ward.seq, None, None, version)
    seq = ward.seq + 1
    at = domain.iso(now)
    similar = _similar_name_moves(conn, req, bed["patient"], change.patient)
    conn.execute(
        _UPD_BED,
        {"ward": req.ward_id, "bed": req.bed_id, "status": change.status, "notes": change.notes,
         "patient": change.patient, "now": now, "seq": seq},
    )
    evt: JSONDict = {
        "kind": change.kind,
        "ward": req.ward_id,
        "bed": req.bed_id,
        "changes": {**change.changes, "updated_at": at, "version": seq},
        "at": at,
        "by": req.actor.name,
    }
    if similar:
        evt["similar_name"] = similar
    payload = orjson.dumps(evt)
    conn.execute(_INS_OUTBOX, {"ward_id": req.ward_id, "seq": seq, "log": log, "payload": payload, "created_at": now})
    pos, digest = _audit_append(
        conn,
        head=head,
        at=now,
        actor=req.actor.name,
        credential_id=req.actor.credential_id,
        role=req.actor.role,
        source=req.actor.source,
        action=change.kind,
        ward_id=req.ward_id,
        bed_id=req.bed_id,
        seq=seq,
        before=change.before,
        after=change.changes,
        request_id=req.request_id,
    )
    conn.execute(_UPD_SEQ, {"ward": req.ward_id, "seq": seq, "a_pos": pos, "a_head": digest})
    return Written(req.ward_id, log, seq, evt, payload, seq)


def _similar_name_moves(
    conn: Connection, req: WriteRequest, old: JSONDict | None, new: JSONDict | None
) -> dict[str, bool]:
    """The beds whose similar-name warning this change turns on or off (this bed and others), for the event.

    Worked out here, under the ward's row lock, so the event carries the truth to every instance and
    every replay; only changes of who is on the bed (or their name) can move it.
    """
    if not domain.names_differ(old, new):
        return {}
    patients: dict[str, JSONDict | None] = {
        r.id: r.patient for r in conn.execute(_SEL_PATIENTS, {"ward": req.ward_id}).all()
    }
    before = domain.similar_names(patients)
    patients[str(req.bed_id)] = new
    after = domain.similar_names(patients)
    return {bed_id: bed_id in after for bed_id in sorted(before ^ after)}


def _write_display_profile(
    conn: Connection, req: WriteRequest, profile: domain.DisplayProfile, seq: int, head: tuple[int, str], log: str,
    now: dt.datetime,
) -> Written:
    """A ward-level change travels the same path as a bed change, so every instance's boards follow it."""
    before = conn.execute(select(_W.c.display_fields).where(_W.c.id == req.ward_id)).scalar_one()
    value = sorted(profile.fields) if profile.fields is not None else None
    if before == value:
        return Written(req.ward_id, log, seq, None, None)
    seq += 1
    at = domain.iso(now)
    evt: JSONDict = {
        "kind": "ward.display_profile", "ward": req.ward_id, "bed": None,
        "changes": {"display_fields": value}, "at": at, "by": req.actor.name,
    }
    payload = orjson.dumps(evt)
    conn.execute(insert(_O).values(ward_id=req.ward_id, seq=seq, log=log, payload=payload, created_at=now))
    pos, digest = _audit_append(
        conn, head=head, at=now, actor=req.actor.name, credential_id=req.actor.credential_id, role=req.actor.role,
        source=req.actor.source, action="ward.display_profile", ward_id=req.ward_id, seq=seq,
        before={"display_fields": before}, after={"display_fields": value}, request_id=req.request_id,
    )
    conn.execute(
        update(_W)
        .where(_W.c.id == req.ward_id)
        .values(seq=seq, display_fields=value, audit_pos=pos, audit_head=digest)
    )
    return Written(req.ward_id, log, seq, evt, payload)


def _load_ward(conn: Connection, ward_id: str) -> WardState | None:
    # One statement, so PostgreSQL's READ COMMITTED still gives beds and seq from the same instant.
    rows = conn.execute(
        select(
            _W.c.uid, _W.c.name, _W.c.seq, _W.c.display_fields,
            _B.c.id, _B.c.bay, _B.c.status, _B.c.notes, _B.c.patient, _B.c.updated_at, _B.c.seq.label("version"),
        )
        .select_from(_W.outerjoin(_B, _B.c.ward_id == _W.c.id))
        .where(_W.c.id == ward_id)
        .order_by(_B.c.position, _B.c.id)
    ).all()
    if not rows:
        return None
    first = rows[0]
    fields = frozenset(first.display_fields) if first.display_fields is not None else None
    state = WardState(ward_id, first.uid, first.name, first.seq, fields)
    for r in rows:
        if r.id is None:
            continue
        updated = _aware(r.updated_at)
        state.beds.append(
            {
                "id": r.id,
                "bay": r.bay,
                "status": r.status,
                "notes": r.notes,
                "patient": r.patient,
                "updated_at": domain.iso(updated) if updated else None,
                "version": int(r.version or 0),
            }
        )
    similar = domain.similar_names({b["id"]: b["patient"] for b in state.beds})
    for b in state.beds:
        b["similar_name"] = b["id"] in similar
    return state


def _list_wards(conn: Connection) -> list[WardInfo]:
    counts = (
        select(_B.c.ward_id, func.count().label("n")).group_by(_B.c.ward_id).subquery()
    )
    rows = conn.execute(
        select(_W.c.id, _W.c.uid, _W.c.name, func.coalesce(counts.c.n, 0))
        .select_from(_W.outerjoin(counts, counts.c.ward_id == _W.c.id))
        .order_by(_W.c.created_at, _W.c.id)
    ).all()
    return [WardInfo(r[0], r[1], r[2], int(r[3])) for r in rows]


def _add_wards(
    conn: Connection, wards: list[tuple[str, str, list[tuple[str, str]]]], actor: Actor, now: dt.datetime
) -> list[str]:
    created: list[str] = []
    for offset, (ward_id, name, beds) in enumerate(wards):
        if conn.execute(select(_W.c.id).where(_W.c.id == ward_id)).first() is not None:
            continue
        # Microsecond steps keep the listing in the order wards were given.
        at = now + dt.timedelta(microseconds=offset)
        conn.execute(
            insert(_W).values(
                id=ward_id, uid=uuid.uuid4().hex, name=name, seq=0, created_at=at, audit_pos=0, audit_head=audit.GENESIS
            )
        )
        if beds:
            conn.execute(
                insert(_B),
                [
                    {"ward_id": ward_id, "id": bed_id, "bay": bay, "position": i, "status": "empty", "notes": ""}
                    for i, (bed_id, bay) in enumerate(beds)
                ],
            )
        _audit_append(
            conn, at=now, **actor.audit_fields(), action="ward.created", ward_id=ward_id,
            after={"name": name, "beds": [b for b, _ in beds]},
        )
        created.append(ward_id)
    return created


def _seed_beds(conn: Connection, ward_id: str, beds: list[JSONDict], actor: Actor, now: dt.datetime) -> None:
    """Demo seeding: set beds' initial state directly, before any client watches (audited, no events)."""
    for bed in beds:
        conn.execute(
            update(_B)
            .where(_B.c.ward_id == ward_id, _B.c.id == bed["id"])
            .values(status=bed["status"], notes=bed.get("notes", ""), patient=bed.get("patient"), updated_at=now)
        )
    _audit_append(
        conn, at=now, **actor.audit_fields(), action="ward.seeded", ward_id=ward_id,
        after={"beds": len(beds)},
    )


def _insert_credential(
    conn: Connection, cred_id: str, token_hash: str, role: str, wards: tuple[str, ...] | None, label: str,
    actor: Actor, now: dt.datetime,
) -> None:
    conn.execute(
        insert(_C).values(
            id=cred_id, token_hash=token_hash, role=role, wards=list(wards) if wards is not None else None,
            label=label, created_at=now,
        )
    )
    _audit_append(
        conn, at=now, **actor.audit_fields(), action="credential.created",
        after={"id": cred_id, "role": role, "wards": list(wards) if wards else None, "label": label},
    )


def _cred(r: Any) -> CredentialRow:
    return CredentialRow(
        r.id, r.role, tuple(r.wards) if r.wards is not None else None, r.label, _aware(r.created_at) or r.created_at,
        _aware(r.revoked_at),
    )


def _find_credential(conn: Connection, token_hash: str) -> CredentialRow | None:
    row = conn.execute(select(_C).where(_C.c.token_hash == token_hash)).first()
    return _cred(row) if row is not None else None


def _list_credentials(conn: Connection) -> list[CredentialRow]:
    return [_cred(r) for r in conn.execute(select(_C).order_by(_C.c.created_at)).all()]


def _revoke_credential(conn: Connection, cred_id: str, actor: Actor, now: dt.datetime) -> bool:
    done = conn.execute(
        update(_C).where(_C.c.id == cred_id, _C.c.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    if done:
        _audit_append(
            conn, at=now, actor=actor.name, credential_id=actor.credential_id, role=actor.role, source=actor.source,
            action="credential.revoked", after={"id": cred_id},
        )
    return bool(done)


def _pending_outbox(conn: Connection, limit: int) -> list[OutboxRow]:
    rows = conn.execute(
        select(_O.c.ward_id, _O.c.seq, _O.c.log, _O.c.payload).order_by(_O.c.ward_id, _O.c.seq).limit(limit)
    ).all()
    return [OutboxRow(r.ward_id, r.seq, r.log, bytes(r.payload)) for r in rows]


def _outbox_rows(conn: Connection, ward_id: str, after: int, upto: int) -> list[OutboxRow]:
    rows = conn.execute(
        select(_O.c.ward_id, _O.c.seq, _O.c.log, _O.c.payload)
        .where(_O.c.ward_id == ward_id, _O.c.seq > after, _O.c.seq <= upto)
        .order_by(_O.c.seq)
    ).all()
    return [OutboxRow(r.ward_id, r.seq, r.log, bytes(r.payload)) for r in rows]


def _delete_outbox(conn: Connection, tops: dict[str, int]) -> int:
    n = 0
    for ward_id, top in tops.items():
        n += conn.execute(delete(_O).where(_O.c.ward_id == ward_id, _O.c.seq <= top)).rowcount
    return n


def _verify_audit(conn: Connection) -> tuple[int, int, str | None]:
    """(records, chains, the first problem or None), walking each chain in order."""
    heads = {r.chain: (r.pos, r.head) for r in conn.execute(select(_AC)).all()}
    ward_heads = conn.execute(select(_W.c.id, _W.c.audit_pos, _W.c.audit_head)).all()
    heads.update({r.id: (r.audit_pos, r.audit_head) for r in ward_heads})
    chains = set(heads) | {c for (c,) in conn.execute(select(_A.c.chain).distinct()).all()}
    total = 0
    for chain in sorted(chains):
        rows = conn.execute(select(_A).where(_A.c.chain == chain).order_by(_A.c.pos)).mappings().all()
        total += len(rows)
        problem = audit.verify_chain(chain, [dict(r) for r in rows], heads.get(chain, (0, audit.GENESIS)))
        if problem is not None:
            return total, len(chains), problem
    return total, len(chains), None


def _audit(
    conn: Connection, ward: str | None, wards: tuple[str, ...] | None, bed: str | None,
    since: dt.datetime | None, until: dt.datetime | None, limit: int, person: str | None = None,
    before: int | None = None,
) -> list[JSONDict]:
    q = select(_A)
    if before is not None:
        q = q.where(_A.c.id < before)
    if person is not None:
        q = q.where((_A.c.actor == person) | (_A.c.credential_id == person))
    if ward is not None:
        q = q.where(_A.c.ward_id == ward)
    if wards is not None:
        q = q.where(_A.c.ward_id.in_(wards))
    if bed is not None:
        q = q.where(_A.c.bed_id == bed)
    if since is not None:
        q = q.where(_A.c.at >= since)
    if until is not None:
        q = q.where(_A.c.at <= until)
    rows = conn.execute(q.order_by(_A.c.id.desc()).limit(limit)).all()
    return [
        {
            "id": r.id, "at": domain.iso(_aware(r.at) or r.at), "actor": r.actor, "credential_id": r.credential_id,
            "role": r.role, "source": r.source, "action": r.action, "ward": r.ward_id, "bed": r.bed_id,
            "offset": f"{r.seq}-0" if r.seq is not None else None, "before": r.before, "after": r.after,
            "request_id": r.request_id, "hash": r.hash, "prev_hash": r.prev_hash,
        }
        for r in rows
    ]
