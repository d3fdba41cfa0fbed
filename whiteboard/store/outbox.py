"""The outbox: events committed with their write, relayed to the event log, then deleted."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, delete, select

from whiteboard.store.models import AuditChain, AuditRecord, Bed, Credential, Outbox, Ward
from whiteboard.store.rows import OutboxRow

_W = cast(Table, Ward.__table__)
_B = cast(Table, Bed.__table__)
_O = cast(Table, Outbox.__table__)
_A = cast(Table, AuditRecord.__table__)
_C = cast(Table, Credential.__table__)
_AC = cast(Table, AuditChain.__table__)


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
