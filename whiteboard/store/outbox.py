"""The outbox: events committed with their write, relayed to the event log, then deleted."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from whiteboard.store.models import OUTBOX as _O
from whiteboard.store.rows import OutboxRow


def pending_outbox(conn: Connection, limit: int) -> list[OutboxRow]:
    rows = conn.execute(
        select(_O.c.ward_id, _O.c.seq, _O.c.log, _O.c.payload).order_by(_O.c.ward_id, _O.c.seq).limit(limit)
    ).all()
    return [OutboxRow(r.ward_id, r.seq, r.log, bytes(r.payload)) for r in rows]


def outbox_rows(conn: Connection, ward_id: str, after: int, upto: int) -> list[OutboxRow]:
    rows = conn.execute(
        select(_O.c.ward_id, _O.c.seq, _O.c.log, _O.c.payload)
        .where(_O.c.ward_id == ward_id, _O.c.seq > after, _O.c.seq <= upto)
        .order_by(_O.c.seq)
    ).all()
    return [OutboxRow(r.ward_id, r.seq, r.log, bytes(r.payload)) for r in rows]


def delete_outbox(conn: Connection, tops: dict[str, int]) -> int:
    n = 0
    for ward_id, top in tops.items():
        n += conn.execute(delete(_O).where(_O.c.ward_id == ward_id, _O.c.seq <= top)).rowcount
    return n
