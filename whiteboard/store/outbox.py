"""The outbox: events committed with their write, relayed to the event log, then deleted."""

from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import Connection, and_, delete, func, or_, select

from whiteboard.store.models import OUTBOX as _O
from whiteboard.store.rows import OutboxRow


def pending_outbox(conn: Connection, limit: int) -> list[OutboxRow]:
    rows = conn.execute(
        select(_O.c.ward_id, _O.c.seq, _O.c.log, _O.c.payload).order_by(_O.c.ward_id, _O.c.seq).limit(limit)
    ).all()
    return [OutboxRow(r.ward_id, r.seq, r.log, bytes(r.payload)) for r in rows]


# Advisory locks are keyed (class, object): the class says "a ward's outbox relay" so no other user of advisory
# locks on the same database collides; the object is the ward id's CRC-32 (two wards sharing one only take turns).
LEASE_CLASS = 0x5742


def lease_key(ward_id: str) -> int:
    return zlib.crc32(ward_id.encode()) - 2**31  # PostgreSQL's int4


def try_lease(conn: Connection, ward_id: str) -> bool:
    """PostgreSQL: take the ward's relay lease for this transaction, or False at once if another instance holds it."""
    return bool(conn.execute(select(func.pg_try_advisory_xact_lock(LEASE_CLASS, lease_key(ward_id)))).scalar())


def backlog_wards(conn: Connection, before: dt.datetime) -> list[tuple[str, int]]:
    """(ward, its newest such row's seq) for wards with outbox rows committed before `before`: what the relays
    have had time to append and may not have."""
    rows = conn.execute(
        select(_O.c.ward_id, func.max(_O.c.seq).label("top"))
        .where(_O.c.created_at < before)
        .group_by(_O.c.ward_id)
        .order_by(_O.c.ward_id)
    )
    return [(r.ward_id, int(r.top)) for r in rows]


def outbox_rows(conn: Connection, ward_id: str, after: int, upto: int) -> list[OutboxRow]:
    rows = conn.execute(
        select(_O.c.ward_id, _O.c.seq, _O.c.log, _O.c.payload)
        .where(_O.c.ward_id == ward_id, _O.c.seq > after, _O.c.seq <= upto)
        .order_by(_O.c.seq)
    ).all()
    return [OutboxRow(r.ward_id, r.seq, r.log, bytes(r.payload)) for r in rows]


def delete_outbox(conn: Connection, tops: dict[str, int]) -> int:
    """One statement for every ward (a statement per ward was a round trip per busy ward every sweep)."""
    if not tops:
        return 0
    which = or_(*(and_(_O.c.ward_id == ward_id, _O.c.seq <= top) for ward_id, top in tops.items()))
    return int(conn.execute(delete(_O).where(which)).rowcount)
