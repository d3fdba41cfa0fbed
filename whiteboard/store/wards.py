"""Wards and their beds: load one as committed, list, create, seed."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Connection, func, insert, select, update

from whiteboard.domain.board import WardState
from whiteboard.domain.clock import as_utc, iso
from whiteboard.domain.patient import similar_names
from whiteboard.store import audit
from whiteboard.store.models import AUDIT as _A
from whiteboard.store.models import BEDS as _B
from whiteboard.store.models import WARDS as _W
from whiteboard.store.rows import Actor, WardInfo
from whiteboard.types import JSONDict


def load_ward(conn: Connection, ward_id: str) -> WardState | None:
    # One statement, so PostgreSQL's READ COMMITTED still gives beds and seq from the same instant.
    rows = conn.execute(
        select(
            _W.c.uid,
            _W.c.name,
            _W.c.seq,
            _W.c.display_fields,
            _B.c.id,
            _B.c.bay,
            _B.c.status,
            _B.c.notes,
            _B.c.patient,
            _B.c.updated_at,
            _B.c.seq.label("version"),
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
        updated = as_utc(r.updated_at)
        state.beds.append(
            {
                "id": r.id,
                "bay": r.bay,
                "status": r.status,
                "notes": r.notes,
                "patient": r.patient,
                "updated_at": iso(updated) if updated else None,
                "version": int(r.version or 0),
            }
        )
    similar = similar_names({b["id"]: b["patient"] for b in state.beds})
    for b in state.beds:
        b["similar_name"] = b["id"] in similar
    return state


def list_wards(conn: Connection) -> list[WardInfo]:
    counts = select(_B.c.ward_id, func.count().label("n")).group_by(_B.c.ward_id).subquery()
    rows = conn.execute(
        select(_W.c.id, _W.c.uid, _W.c.name, func.coalesce(counts.c.n, 0))
        .select_from(_W.outerjoin(counts, counts.c.ward_id == _W.c.id))
        .order_by(_W.c.created_at, _W.c.id)
    ).all()
    return [WardInfo(r[0], r[1], r[2], int(r[3])) for r in rows]


def add_wards(
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
        audit.append(
            conn,
            at=now,
            **actor.audit_fields(),
            action="ward.created",
            ward_id=ward_id,
            after={"name": name, "beds": [b for b, _ in beds]},
        )
        created.append(ward_id)
    return created


def seed_beds(conn: Connection, ward_id: str, beds: list[JSONDict], actor: Actor, now: dt.datetime) -> None:
    """Demo seeding: set beds' initial state directly, before any client watches (audited, no events)."""
    for bed in beds:
        conn.execute(
            update(_B)
            .where(_B.c.ward_id == ward_id, _B.c.id == bed["id"])
            .values(status=bed["status"], notes=bed.get("notes", ""), patient=bed.get("patient"), updated_at=now)
        )
    audit.append(
        conn,
        at=now,
        **actor.audit_fields(),
        action="ward.seeded",
        ward_id=ward_id,
        after={"beds": len(beds)},
    )


def seeded_ward_ids(conn: Connection, source: str) -> list[str]:
    """Wards seeded by `source`, as the audit trail records it: a restart remembers, and nothing else counts."""
    q = select(_A.c.ward_id).where(_A.c.action == "ward.seeded", _A.c.source == source).distinct()
    return [r for (r,) in conn.execute(q).all() if r is not None]
