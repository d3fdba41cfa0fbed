"""The observation history's SQL: one row per charted set (written by the write path), listed per patient."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, insert, select

from whiteboard.domain.clock import as_utc, iso
from whiteboard.store.models import OBSERVATIONS as _OB
from whiteboard.types import JSONDict

_INS = insert(_OB)
VALUE_FIELDS = ("respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse", "consciousness",
                "temperature")  # fmt: skip


def insert_observation(conn: Connection, row: JSONDict) -> None:
    """In the caller's (the bed write's) transaction."""
    conn.execute(_INS, row)


def patient_observations(
    conn: Connection,
    nhs_number: str | None,
    name: str | None,
    admitted_at: str | None,
    ward_id: str | None,
    limit: int,
) -> list[JSONDict]:
    """A patient's observation sets, newest first: by NHS number, or by name with admission time (a record
    without an NHS number); `ward_id` narrows to sets charted on that ward (for ward-scoped readers)."""
    if nhs_number is not None:
        where = _OB.c.nhs_number == nhs_number
    elif name is not None:
        where = and_(_OB.c.nhs_number.is_(None), _OB.c.patient_name == name, _OB.c.admitted_at == admitted_at)
    else:
        return []
    q = select(_OB).where(where)
    if ward_id is not None:
        q = q.where(_OB.c.ward_id == ward_id)
    rows = conn.execute(q.order_by(_OB.c.recorded_at.desc(), _OB.c.id.desc()).limit(limit)).all()
    return [_record(r) for r in rows]


def observations_by_id(conn: Connection, ids: list[int]) -> list[JSONDict]:
    """The sets with these ids (a FHIR read by id), newest first; the caller checks whose they are. Ids past the
    column's 32-bit range name no set (PostgreSQL would refuse them as arguments)."""
    ids = [i for i in ids if 0 < i < 2**31]
    if not ids:
        return []
    rows = conn.execute(select(_OB).where(_OB.c.id.in_(ids)).order_by(_OB.c.recorded_at.desc(), _OB.c.id.desc()))
    return [_record(r) for r in rows.all()]


def _record(r: Any) -> JSONDict:
    return {
        "id": r.id,
        "ward": r.ward_id,
        "bed": r.bed_id,
        "offset": f"{r.seq}-0",
        "nhs_number": r.nhs_number,
        "patient_name": r.patient_name,
        "admitted_at": r.admitted_at,
        "recorded_at": iso(as_utc(r.recorded_at)),
        "recorded_by": r.recorded_by,
        "source": r.source,
        "values": {k: (float(r.temperature) if k == "temperature" else getattr(r, k)) for k in VALUE_FIELDS}
        | {"on_oxygen": bool(r.on_oxygen)},
        "news2": {
            "score": r.score,
            "red_score": bool(r.red_score),
            "risk": r.risk,
            "monitoring": r.monitoring,
            "next_due": iso(as_utc(r.next_due)),
        },
    }
