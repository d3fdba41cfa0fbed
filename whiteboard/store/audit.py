"""Tamper evidence for the audit trail: every record carries the hash of the one before it.

Records form one chain per ward (plus `_system` for credentials and other ward-less actions), so a
write extends its ward's chain under the ward lock it already holds and wards never wait on each
other. The head of each chain (position and hash) is stored apart from the records, so removing the
newest record is as visible as editing an old one. `whiteboard audit verify` walks every chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from whiteboard.domain.clock import as_utc, iso
from whiteboard.errors import NotFound
from whiteboard.store.models import AUDIT as _A
from whiteboard.store.models import AUDIT_CHAINS as _AC
from whiteboard.store.models import WARDS as _W
from whiteboard.store.prepared import Prepared
from whiteboard.types import JSONDict

GENESIS: Final = "0" * 64
SYSTEM_CHAIN: Final = "_system"
# The fields a record's hash covers, in a fixed order; `hash` itself and the row id are not covered.
HASHED_FIELDS: Final = (
    "chain", "pos", "at", "actor", "credential_id", "role", "source", "action",
    "ward_id", "bed_id", "seq", "before", "after", "request_id", "prev_hash",
)  # fmt: skip


def canonical_time(at: dt.datetime) -> str:
    """Microseconds, UTC: what both SQLite and PostgreSQL give back unchanged."""
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_hash(record: dict[str, Any]) -> str:
    body = {k: record.get(k) for k in HASHED_FIELDS}
    if isinstance(body["at"], dt.datetime):
        body["at"] = canonical_time(body["at"])
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


RETENTION_ACTION: Final = "retention_purge"


def _purged_forms(records: list[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """Record id → (position of the purge that changed it, the hash of its purged form), from the chain's own
    retention records (store/retention.py): a purged record is checked against that, the purge by its place."""
    forms: dict[str, tuple[int, str]] = {}
    for rec in records:
        if rec["action"] == RETENTION_ACTION and isinstance(rec["after"], dict):
            for rid, digest in (rec["after"].get("audit_records") or {}).items():
                forms[str(rid)] = (int(rec["pos"]), str(digest))
    return forms


def verify_chain(chain: str, records: list[dict[str, Any]], head: tuple[int, str]) -> str | None:
    """None when the chain is intact, else a sentence naming the first broken record."""
    prev, pos = GENESIS, 0
    purged = _purged_forms(records)
    for rec in records:
        pos += 1
        if rec["pos"] != pos:
            return f"record {rec['id']} of chain {rec['chain']!r} is at position {rec['pos']}, expected {pos}"
        if rec["prev_hash"] != prev:
            return f"record {rec['id']} of chain {rec['chain']!r} does not follow the record before it"
        digest = record_hash(rec)
        form = purged.get(str(rec["id"]))
        if digest != rec["hash"] and not (form is not None and form[0] > pos and form[1] == digest):
            return f"record {rec['id']} of chain {rec['chain']!r} was altered after it was written"
        prev = rec["hash"]
    if head != (pos, prev):
        return f"chain {chain!r} ends at position {pos}, but its head says {head[0]}: records are missing"
    return None


# --- the chains' SQL (in the caller's transaction) ---

_INS_AUDIT = insert(_A)
_FAST_INS_AUDIT = Prepared(_INS_AUDIT, [c.name for c in _A.c if c.name != "id"])  # the write path's (prepared.py)
_SEL_CHAIN = select(_AC.c.pos, _AC.c.head).where(_AC.c.chain == bindparam("chain")).with_for_update()
_UPD_CHAIN = (
    update(_AC).where(_AC.c.chain == bindparam("c_chain")).values(pos=bindparam("c_pos"), head=bindparam("c_head"))
)
_INS_CHAIN = insert(_AC)
_AUDIT_DEFAULTS: dict[str, Any] = dict.fromkeys(
    ("credential_id", "ward_id", "bed_id", "seq", "before", "after", "request_id")
)


def append(conn: Connection, *, head: tuple[int, str] | None = None, **fields: Any) -> tuple[int, str]:
    """Add a record to its chain (the ward's, or `_system`) in the caller's transaction; returns the new head.

    A caller holding the ward row passes its `head` and stores the returned one with its own ward
    update (no extra statements on the hot path); otherwise the head is locked and stored here.
    """
    chain = fields.get("ward_id") or SYSTEM_CHAIN
    store_head = head is None
    if head is None:
        head = _lock_head(conn, chain)
    record = chained_record(head, **fields)
    conn.execute(_INS_AUDIT, record)
    new_head = (int(record["pos"]), str(record["hash"]))
    if store_head:
        if chain == SYSTEM_CHAIN:
            conn.execute(_UPD_CHAIN, {"c_chain": chain, "c_pos": new_head[0], "c_head": new_head[1]})
        else:
            conn.execute(UPDATE_WARD_HEAD, {"ward": chain, "a_pos": new_head[0], "a_head": new_head[1]})
    return new_head


def chained_record(head: tuple[int, str], **fields: Any) -> dict[str, Any]:
    """The audit row that extends the chain at `head` (its `pos` and `hash` are the new head), unwritten.

    For a caller that folds the insert into a statement of its own (`writes.py` on PostgreSQL).
    """
    pos, prev = head
    record = {**_AUDIT_DEFAULTS, **fields, "chain": fields.get("ward_id") or SYSTEM_CHAIN, "pos": pos + 1}
    record["prev_hash"] = prev
    record["hash"] = record_hash(record)
    return record


def insert_record(conn: Connection, record: dict[str, Any]) -> None:
    """Write a `chained_record` (every column but `id`); the caller stores the new head with its own ward update."""
    _FAST_INS_AUDIT.execute(conn, record)


_SEL_WARD_HEAD = select(_W.c.audit_pos, _W.c.audit_head).where(_W.c.id == bindparam("ward")).with_for_update()
UPDATE_WARD_HEAD = (
    update(_W).where(_W.c.id == bindparam("ward")).values(audit_pos=bindparam("a_pos"), audit_head=bindparam("a_head"))
)


def _lock_head(conn: Connection, chain: str) -> tuple[int, str]:
    if chain != SYSTEM_CHAIN:
        row = conn.execute(_SEL_WARD_HEAD, {"ward": chain}).first()
        if row is None:
            raise NotFound(f"there is no ward {chain!r}")
        return int(row.audit_pos), str(row.audit_head)
    row = conn.execute(_SEL_CHAIN, {"chain": chain}).first()
    if row is None:  # created by the migration; recreate if someone removed it
        conn.execute(_INS_CHAIN, {"chain": chain, "pos": 0, "head": GENESIS})
        return 0, GENESIS
    return int(row.pos), str(row.head)


def verify_chains(conn: Connection) -> tuple[int, int, str | None]:
    """(records, chains, the first problem or None), walking each chain in order."""
    heads = {r.chain: (r.pos, r.head) for r in conn.execute(select(_AC)).all()}
    ward_heads = conn.execute(select(_W.c.id, _W.c.audit_pos, _W.c.audit_head)).all()
    heads.update({r.id: (r.audit_pos, r.audit_head) for r in ward_heads})
    chains = set(heads) | {c for (c,) in conn.execute(select(_A.c.chain).distinct()).all()}
    total = 0
    for chain in sorted(chains):
        rows = conn.execute(select(_A).where(_A.c.chain == chain).order_by(_A.c.pos)).mappings().all()
        total += len(rows)
        problem = verify_chain(chain, [dict(r) for r in rows], heads.get(chain, (0, GENESIS)))
        if problem is not None:
            return total, len(chains), problem
    return total, len(chains), None


def query(
    conn: Connection,
    ward: str | None,
    wards: tuple[str, ...] | None,
    bed: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    limit: int,
    person: str | None = None,
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
            "id": r.id,
            "at": iso(as_utc(r.at)),
            "actor": r.actor,
            "credential_id": r.credential_id,
            "role": r.role,
            "source": r.source,
            "action": r.action,
            "ward": r.ward_id,
            "bed": r.bed_id,
            "offset": f"{r.seq}-0" if r.seq is not None else None,
            "before": r.before,
            "after": r.after,
            "request_id": r.request_id,
            "hash": r.hash,
            "prev_hash": r.prev_hash,
        }
        for r in rows
    ]
