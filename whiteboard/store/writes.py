"""The write path's SQL: one bed change (or display profile, or read record) per request, one batch per transaction."""

from __future__ import annotations

import datetime as dt

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from whiteboard.domain.beds import DisplayProfile, ReadRecord, apply_patch
from whiteboard.domain.changes import BedChanges
from whiteboard.domain.clock import iso
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import ObservationRecord, check_scale, history_row
from whiteboard.domain.offsets import log_name
from whiteboard.domain.patient import names_differ, similar_names
from whiteboard.errors import ApiError, ChangeRefused, NotFound, PreconditionFailed
from whiteboard.store import audit, feed_messages, moves, observations
from whiteboard.store.models import AUDIT as _A
from whiteboard.store.models import BEDS as _B
from whiteboard.store.models import OUTBOX as _O
from whiteboard.store.models import WARDS as _W
from whiteboard.store.prepared import Prepared
from whiteboard.store.rows import WriteRequest, Written
from whiteboard.types import JSONDict


def write_batch(conn: Connection, batch: list[WriteRequest], now: dt.datetime) -> list[Written | ApiError]:
    results: list[Written | ApiError] = []
    for req in batch:
        if isinstance(req.patch, BedChanges):
            results.append(_write_changes(conn, req, req.patch, now))
            continue
        try:
            if req.receipt is not None:  # a feed message: applied once, with its receipt, in a savepoint
                results.append(feed_messages.write_once(conn, req, now, _write_one))
            else:
                results.append(_write_one(conn, req, now))
        except ApiError as exc:  # refused before any statement wrote (or undone by its savepoint)
            results.append(exc)
    return results


def _write_changes(conn: Connection, req: WriteRequest, changes: BedChanges, now: dt.datetime) -> Written | ApiError:
    """All of the changes or none: under a savepoint, so a refusal undoes the changes before it and leaves the
    other requests of the group commit alone. Every ward the changes touch is locked first, in id order, so
    two of these (or a move) cannot deadlock; then the changes run in the order given (moves first)."""
    parts: list[Written] = []
    savepoint = conn.begin_nested()
    try:
        touched = {w for w, _b, _p in changes.items} | {p.to_ward for _w, _b, p in changes.items if isinstance(p, Move)}
        for ward_id in sorted(touched):
            if conn.execute(_SEL_WARD, {"ward": ward_id}).first() is None:
                raise NotFound(f"there is no ward {ward_id!r}")
        for ward_id, bed_id, patch in changes.items:
            one = WriteRequest(ward_id, bed_id, patch, req.actor, request_id=req.request_id)
            try:
                parts.append(_write_one(conn, one, now))
            except ApiError as exc:
                raise ChangeRefused(exc, ward_id, bed_id) from None
    except ApiError as exc:
        savepoint.rollback()
        return exc
    savepoint.commit()
    done = tuple(p for p in parts if p.event is not None or p.also)
    last = done[-1] if done else None
    return Written(req.ward_id, last.log if last else "", last.seq if last else 0, None, None, parts=done)


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
_UPD_SEQ = moves.UPDATE_WARD
_UPD_BED = moves.UPDATE_BED
_INS_OUTBOX = insert(_O)
# The same statements, run on SQLite's cursor without SQLAlchemy's per-execute machinery (prepared.py).
_FAST_SEL_WARD = Prepared(_SEL_WARD)
_FAST_SEL_BED = Prepared(_SEL_BED)
_FAST_UPD_BED = Prepared(_UPD_BED)
_FAST_INS_OUTBOX = Prepared(_INS_OUTBOX, ["ward_id", "seq", "log", "payload", "created_at"])
_FAST_UPD_SEQ = Prepared(_UPD_SEQ)
# PostgreSQL: the bed update, outbox row, audit record and ward update in one statement (data-modifying
# CTEs), one round trip instead of four. They touch different rows, computed here under the ward lock.
_WRITE_PG = _UPD_SEQ.add_cte(
    _UPD_BED.cte("upd_bed"),
    insert(_O)
    .values(
        ward_id=bindparam("ward"),
        seq=bindparam("seq"),
        log=bindparam("log"),
        payload=bindparam("payload"),
        created_at=bindparam("now"),
    )
    .cte("ins_outbox"),
    insert(_A).values({c.name: bindparam("a_" + c.name) for c in _A.c if c.name != "id"}).cte("ins_audit"),
)


def _write_one(conn: Connection, req: WriteRequest, now: dt.datetime) -> Written:
    if isinstance(req.patch, Move):
        return moves.write_move(conn, req, req.patch, now)
    ward = _FAST_SEL_WARD.first(conn, {"ward": req.ward_id})
    if ward is None:
        raise NotFound(f"there is no ward {req.ward_id!r}")
    log = log_name(req.ward_id, ward.uid)
    head = (int(ward.audit_pos), str(ward.audit_head))
    if isinstance(req.patch, ReadRecord):
        pos, digest = audit.append(
            conn,
            head=head,
            at=now,
            **req.actor.audit_fields(),
            action=req.patch.action,
            ward_id=req.ward_id,
            bed_id=req.bed_id,
            seq=ward.seq,
            after=req.patch.detail,
            request_id=req.request_id,
        )
        conn.execute(audit.UPDATE_WARD_HEAD, {"ward": req.ward_id, "a_pos": pos, "a_head": digest})
        return Written(req.ward_id, log, ward.seq, None, None)
    if isinstance(req.patch, DisplayProfile):
        return _write_display_profile(conn, req, req.patch, ward.seq, head, log, now)
    assert not isinstance(req.patch, BedChanges), "a BedChanges request is written by _write_changes"
    row = _FAST_SEL_BED.first(conn, {"ward": req.ward_id, "bed": req.bed_id})
    if row is None:
        raise NotFound(f"ward {req.ward_id!r} has no bed {req.bed_id!r}")
    version = int(row.seq)
    if req.if_match_seq is not None and not version <= req.if_match_seq <= ward.seq:
        raise PreconditionFailed(
            f"bed {req.bed_id} has changed since you loaded it (If-Match is stale): reload the bed and apply "
            "your edit again"
        )
    charted: ObservationRecord | None = None
    if isinstance(req.patch, ObservationRecord):
        charted = req.patch
        if row.patient is not None:  # none: apply_patch refuses (no_patient)
            charted = charted.for_patient(row.patient)
            check_scale(charted.obs, row.patient)
        patch = charted.bed_patch
    else:
        patch = req.patch
    bed = {"status": row.status, "notes": row.notes, "patient": row.patient}
    change = apply_patch(bed, patch, now)
    if change is None:
        return Written(req.ward_id, log, ward.seq, None, None, version)
    seq = ward.seq + 1
    at = iso(now)
    similar = _similar_name_moves(conn, req, bed["patient"], change.patient)
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
    record = audit.chained_record(
        head,
        at=now,
        **req.actor.audit_fields(),
        action=change.kind,
        ward_id=req.ward_id,
        bed_id=req.bed_id,
        seq=seq,
        before=change.before,
        after=change.changes,
        request_id=req.request_id,
    )
    bed_values = {
        "ward": req.ward_id,
        "bed": req.bed_id,
        "status": change.status,
        "notes": change.notes,
        "patient": change.patient,
        "now": now,
        "seq": seq,
    }
    if conn.dialect.name == "postgresql":
        params = {**bed_values, "log": log, "payload": payload, **{f"a_{k}": v for k, v in record.items()}}
        conn.execute(_WRITE_PG, {**params, "a_head": record["hash"]})
    else:
        _FAST_UPD_BED.execute(conn, bed_values)
        outbox_row = {"ward_id": req.ward_id, "seq": seq, "log": log, "payload": payload, "created_at": now}
        _FAST_INS_OUTBOX.execute(conn, outbox_row)
        audit.insert_record(conn, record)
        _FAST_UPD_SEQ.execute(conn, {"ward": req.ward_id, "seq": seq, "a_pos": record["pos"], "a_head": record["hash"]})
    if charted is not None and change.patient is not None:  # the history, in the same transaction
        history = history_row(charted, change.patient)
        observations.insert_observation(
            conn,
            {
                **history,
                "ward_id": req.ward_id,
                "bed_id": req.bed_id,
                "seq": seq,
                "recorded_by": req.actor.name,
                "source": req.actor.source,
            },  # fmt: skip
        )
    return Written(req.ward_id, log, seq, evt, payload, seq)


def _similar_name_moves(
    conn: Connection, req: WriteRequest, old: JSONDict | None, new: JSONDict | None
) -> dict[str, bool]:
    """The beds whose similar-name warning this change turns on or off (this bed and others), for the event.

    Worked out here, under the ward's row lock, so the event carries the truth to every instance and
    every replay; only changes of who is on the bed (or their name) can move it.
    """
    if not names_differ(old, new):
        return {}
    patients: dict[str, JSONDict | None] = {
        r.id: r.patient for r in conn.execute(_SEL_PATIENTS, {"ward": req.ward_id}).all()
    }
    before = similar_names(patients)
    patients[str(req.bed_id)] = new
    after = similar_names(patients)
    return {bed_id: bed_id in after for bed_id in sorted(before ^ after)}


def _write_display_profile(
    conn: Connection,
    req: WriteRequest,
    profile: DisplayProfile,
    seq: int,
    head: tuple[int, str],
    log: str,
    now: dt.datetime,
) -> Written:
    """A ward-level change travels the same path as a bed change, so every instance's boards follow it."""
    before = conn.execute(select(_W.c.display_fields).where(_W.c.id == req.ward_id)).scalar_one()
    value = sorted(profile.fields) if profile.fields is not None else None
    if before == value:
        return Written(req.ward_id, log, seq, None, None)
    seq += 1
    at = iso(now)
    evt: JSONDict = {
        "kind": "ward.display_profile",
        "ward": req.ward_id,
        "bed": None,
        "changes": {"display_fields": value},
        "at": at,
        "by": req.actor.name,
    }
    payload = orjson.dumps(evt)
    conn.execute(insert(_O).values(ward_id=req.ward_id, seq=seq, log=log, payload=payload, created_at=now))
    pos, digest = audit.append(
        conn,
        head=head,
        at=now,
        **req.actor.audit_fields(),
        action="ward.display_profile",
        ward_id=req.ward_id,
        seq=seq,
        before={"display_fields": before},
        after={"display_fields": value},
        request_id=req.request_id,
    )
    conn.execute(
        update(_W).where(_W.c.id == req.ward_id).values(seq=seq, display_fields=value, audit_pos=pos, audit_head=digest)
    )
    return Written(req.ward_id, log, seq, evt, payload)
