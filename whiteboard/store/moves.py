"""The write path's SQL for a move (transfer or swap): both beds, both wards, one transaction.

Each ward the move touches takes one new sequence number and gets one event, one outbox row and an audit
record per bed it changed, on its own chain. Within one ward both beds change in that one event (`also`
carries the second bed), so no board or replay ever shows the patient in two beds or in none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from whiteboard.domain import moves
from whiteboard.domain.clock import iso
from whiteboard.domain.moves import BedAfter, Move
from whiteboard.domain.offsets import log_name
from whiteboard.domain.patient import check_expected, similar_names
from whiteboard.errors import NotFound, PreconditionFailed
from whiteboard.store import audit
from whiteboard.store.models import BEDS as _B
from whiteboard.store.models import OUTBOX as _O
from whiteboard.store.models import WARDS as _W
from whiteboard.store.rows import WriteRequest, Written
from whiteboard.types import JSONDict

_SEL_WARD = (
    select(_W.c.seq, _W.c.uid, _W.c.audit_pos, _W.c.audit_head).where(_W.c.id == bindparam("ward")).with_for_update()
)
_SEL_BED = select(_B.c.status, _B.c.notes, _B.c.patient, _B.c.seq).where(
    _B.c.ward_id == bindparam("ward"), _B.c.id == bindparam("bed")
)
_SEL_PATIENTS = select(_B.c.id, _B.c.patient).where(_B.c.ward_id == bindparam("ward"))
# The bed and ward updates of every bed write (writes.py runs the same two statements).
UPDATE_BED = (
    update(_B)
    .where(_B.c.ward_id == bindparam("ward"), _B.c.id == bindparam("bed"))
    .values(
        status=bindparam("status"),
        notes=bindparam("notes"),
        patient=bindparam("patient"),
        updated_at=bindparam("now"),
        seq=bindparam("seq"),
    )
)
UPDATE_WARD = (
    update(_W)
    .where(_W.c.id == bindparam("ward"))
    .values(seq=bindparam("seq"), audit_pos=bindparam("a_pos"), audit_head=bindparam("a_head"))
)


@dataclass
class _Ward:
    id: str
    seq: int
    log: str
    head: tuple[int, str]
    # bed id → (its side of the move, the kind the audit names, the other bed as {"ward", "bed"})
    beds: dict[str, tuple[BedAfter, str, JSONDict]] = field(default_factory=dict)


def write_move(conn: Connection, req: WriteRequest, move: Move, now: dt.datetime) -> Written:
    """Lock the ward(s) in id order (two movers across the same two wards never deadlock), judge, then write.

    Every refusal (unknown ward or bed, stale version, occupied target) is raised before the first write.
    """
    assert req.bed_id is not None
    wards = {w: _lock_ward(conn, w) for w in sorted({req.ward_id, move.to_ward})}
    source = _load_bed(conn, req.ward_id, req.bed_id, req.if_match_seq, wards[req.ward_id].seq, "If-Match")
    target = _load_bed(conn, move.to_ward, move.to_bed, move.to_version, wards[move.to_ward].seq, "to_version")
    if move.expect is not None:
        check_expected(source["patient"], move.expect)
    if move.expect_other is not None:
        check_expected(target["patient"], move.expect_other)
    if move.swap:
        first, second = moves.swap(source, target)
    else:
        first, second = moves.transfer(source, target, returning=move.returning)
    kind_first, kind_second = move.kinds
    wards[req.ward_id].beds[req.bed_id] = (first, kind_first, {"ward": move.to_ward, "bed": move.to_bed})
    wards[move.to_ward].beds[move.to_bed] = (second, kind_second, {"ward": req.ward_id, "bed": req.bed_id})
    at = iso(now)
    written = {
        w: _write_ward(conn, req, ward, "patient.swapped" if move.swap else None, now, at) for w, ward in wards.items()
    }
    primary = written.pop(req.ward_id)
    return Written(
        primary.ward_id, primary.log, primary.seq, primary.event, primary.payload, primary.seq, tuple(written.values())
    )


def _lock_ward(conn: Connection, ward_id: str) -> _Ward:
    row = conn.execute(_SEL_WARD, {"ward": ward_id}).first()
    if row is None:
        raise NotFound(f"there is no ward {ward_id!r}")
    return _Ward(ward_id, int(row.seq), log_name(ward_id, row.uid), (int(row.audit_pos), str(row.audit_head)))


def _load_bed(conn: Connection, ward_id: str, bed_id: str, seen: int | None, ward_seq: int, what: str) -> JSONDict:
    row = conn.execute(_SEL_BED, {"ward": ward_id, "bed": bed_id}).first()
    if row is None:
        raise NotFound(f"ward {ward_id!r} has no bed {bed_id!r}")
    if seen is not None and not int(row.seq) <= seen <= ward_seq:
        raise PreconditionFailed(
            f"bed {bed_id} of {ward_id} has changed since you loaded it ({what} is stale): reload and try again"
        )
    return {"status": row.status, "notes": row.notes, "patient": row.patient}


def _kind(ward: _Ward, swap_kind: str | None) -> str:
    """The event's kind: one ward's transfer is `patient.transferred`; across wards each side says which it is."""
    if swap_kind is not None:
        return swap_kind
    if len(ward.beds) == 2:
        return "patient.transferred"
    return next(iter(ward.beds.values()))[1]


def _write_ward(
    conn: Connection, req: WriteRequest, ward: _Ward, swap_kind: str | None, now: dt.datetime, at: str
) -> Written:
    seq = ward.seq + 1
    bed_changes: dict[str, JSONDict] = {}
    for bed_id, (after, _kind_name, _other) in ward.beds.items():
        values = {"ward": ward.id, "bed": bed_id, "status": after.status, "notes": after.notes, "now": now, "seq": seq}
        conn.execute(UPDATE_BED, {**values, "patient": after.patient})
        bed_changes[bed_id] = {**after.changes, "updated_at": at, "version": seq}
    (primary, *rest) = ward.beds
    primary_other = ward.beds[primary][2]
    evt: JSONDict = {"kind": _kind(ward, swap_kind), "ward": ward.id, "bed": primary, "changes": bed_changes[primary]}
    if rest:
        evt["also"] = {bed_id: bed_changes[bed_id] for bed_id in rest}
    elif primary_other["ward"] != ward.id:  # across wards: each side names the other bed
        evt["with" if swap_kind else "to" if ward.id == req.ward_id else "from"] = primary_other
    evt["at"], evt["by"] = at, req.actor.name
    similar = _similar_name_moves(conn, ward)
    if similar:
        evt["similar_name"] = similar
    payload = orjson.dumps(evt)
    conn.execute(insert(_O), {"ward_id": ward.id, "seq": seq, "log": ward.log, "payload": payload, "created_at": now})
    head = ward.head
    for bed_id, (after, kind, other) in ward.beds.items():
        head = audit.append(
            conn,
            head=head,
            at=now,
            **req.actor.audit_fields(),
            action=kind,
            ward_id=ward.id,
            bed_id=bed_id,
            seq=seq,
            before=after.before,
            after={**after.changes, "other": other},
            request_id=req.request_id,
        )
    conn.execute(UPDATE_WARD, {"ward": ward.id, "seq": seq, "a_pos": head[0], "a_head": head[1]})
    return Written(ward.id, ward.log, seq, evt, payload, seq)


def _similar_name_moves(conn: Connection, ward: _Ward) -> dict[str, bool]:
    """The beds whose similar-name warning the move turns on or off on this ward (read after the bed updates)."""
    after: dict[str, JSONDict | None] = {r.id: r.patient for r in conn.execute(_SEL_PATIENTS, {"ward": ward.id}).all()}
    before = dict(after)
    for bed_id, (bed_after, _kind_name, _other) in ward.beds.items():
        before[bed_id] = bed_after.before.get("patient", bed_after.patient)
    was, now = similar_names(before), similar_names(after)
    return {bed_id: bed_id in now for bed_id in sorted(was ^ now)}
