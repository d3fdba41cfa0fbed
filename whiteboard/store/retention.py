"""Retention: a discharged patient's identifiers are purged N days after they were last on a bed; the audit
trail stays, and stays verifiable.

Where a patient's identifiers live once they have left: the audit records' `before`/`after` (the whole
patient record, and the bed's notes: written with them, while they were in the bed, or on the empty bed before an
admission that kept them; a FHIR search's query that named them), the observation history
(`nhs_number`, `patient_name`), and the feed tables (the ACKs kept for resends, the pending cancels, whose keys
name the patient). The beds themselves hold only who is on them now, and their notes (a discharge or transfer
clears the bed's notes, hazard H60). A patient is the NHS number, else the name
with the admission time; "last seen" is the newest audit record naming them. Nobody on a bed now is ever
purged, however old their records.

Audit records keep their row, their place in the chain and their `hash` (so the chain still links); their
purged content is committed to by the purge's own audit record (one per ward and run, no identifiers in it:
counts and, per record, the hash of its purged form), which `audit.verify_chain` checks it against.
The event log's copies of old events are trimmed beside this purge, by `live/retention.py` (the store does not
import the event log); the server's periodic run is there too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote_plus

from sqlalchemy import Connection, bindparam, func, or_, select, update

from whiteboard.domain.redact import NEVER_ON_DISPLAY
from whiteboard.store import audit
from whiteboard.store.models import AUDIT as _A
from whiteboard.store.models import BEDS as _B
from whiteboard.store.models import FEED_CANCELS as _C
from whiteboard.store.models import FEED_MESSAGES as _F
from whiteboard.store.models import OBSERVATIONS as _OB
from whiteboard.store.models import WARDS as _W
from whiteboard.types import JSONDict

ACTION: Final = audit.RETENTION_ACTION
ID_CHUNK: Final = 500  # ids per UPDATE ... IN (...)
# Patients one run purges at most: a run holds the writer (and every ward) only briefly, a backlog drains in
# batches CATCH_UP_SECS apart (benchmarks/retention_purge.py measured the cost).
BATCH: Final = 200
CATCH_UP_SECS: Final = 1.0
SEARCH: Final = "read.fhir"  # a FHIR search audited with its query (web/fhir/common.py)
_WORD: Final = re.compile(r"[^\w]+")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
PURGED: Final = "[purged]"
# What identifies a patient, or may (free text): gone from a purged record. Clinical facts without them stay.
PATIENT_FIELDS: Final = NEVER_ON_DISPLAY | {"initials"}
ACTOR: Final[dict[str, Any]] = {
    "actor": "system:retention", "credential_id": None, "role": "admin", "source": "retention",
}  # fmt: skip


@dataclass
class PurgeReport:
    """What a purge did (or, dry, would do): counts only, never an identifier."""

    patients: int = 0
    audit_records: int = 0
    observations: int = 0
    feed_messages: int = 0
    feed_cancels: int = 0
    wards: dict[str, int] = field(default_factory=dict)
    # Patients due but left for the next run (a run purges at most `limit`), or planned but found back meanwhile.
    remaining: int = 0

    def as_dict(self) -> JSONDict:
        return {"patients": self.patients, "audit_records": self.audit_records, "observations": self.observations,
                "feed_messages": self.feed_messages, "feed_cancels": self.feed_cancels}  # fmt: skip


def patient_key(patient: Any) -> str | None:
    """Who a patient record is about, or None for a record already purged (or no patient)."""
    if not isinstance(patient, dict):
        return None
    if patient.get("nhs_number") not in (None, "", PURGED):
        return f"nhs:{patient['nhs_number']}"
    if patient.get("name") not in (None, "", PURGED):
        return f"name:{patient['name']}|{patient.get('admitted_at')}"
    return None


def _patients(value: Any) -> Iterator[JSONDict]:
    """Every patient record inside an audit record's before/after (under a `patient` key, at any depth)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "patient" and isinstance(v, dict):
                yield v
            else:
                yield from _patients(v)
    elif isinstance(value, list):
        for v in value:
            yield from _patients(v)


def _scrub(value: Any, purge: AbstractSet[str], notes: bool = False) -> Any:
    """`value` with the identifying fields of purged patients replaced, and the bed notes beside them (or, with
    `notes`, the top level's: a notes-only change made while a purged patient was in the bed)."""
    if isinstance(value, list):
        return [_scrub(v, purge) for v in value]
    if not isinstance(value, dict):
        return value
    out: JSONDict = {}
    hit = notes or any(k == "patient" and patient_key(v) in purge for k, v in value.items())
    for k, v in value.items():
        if k == "patient" and isinstance(v, dict) and patient_key(v) in purge:
            out[k] = {f: (PURGED if f in PATIENT_FIELDS else x) for f, x in v.items()}
        elif k == "notes" and hit and isinstance(v, str) and v:
            out[k] = PURGED
        else:
            out[k] = _scrub(v, purge)
    return out


class _Occupancy:
    """Who was in each bed as one ward's chain goes by, so a change that names nobody (new notes) is linked to
    the patient in the bed then. Fed the chain's records in order.

    Notes written on a bed with no patient stay through an admission and become the admitted patient's (hazard
    H60: "expected from ED: John Smith"), so the notes-only records that wrote them, since the bed's notes were
    last cleared, are linked to that patient too (`carried`). Notes the admission replaced stay the bed's."""

    def __init__(self) -> None:
        self.chain: str | None = None
        self.beds: dict[str | None, str | None] = {}
        self.unowned: dict[str | None, list[Any]] = {}  # bed → the records that wrote its notes while it was empty
        self.carried: list[tuple[Any, str]] = []  # set by `before`: (record, the patient it is now linked to)

    def before(self, row: Any) -> str | None:
        """The bed's occupant before this record; then the record's own `after.patient` takes the bed."""
        if row["chain"] != self.chain:
            self.chain, self.beds, self.unowned = row["chain"], {}, {}
        bed = row["bed_id"]
        occupant = self.beds.get(bed)
        after = row["after"] if isinstance(row["after"], dict) else {}
        self.carried = []
        if "patient" in after:
            admitted = self.beds[bed] = patient_key(after["patient"])
            held = self.unowned.pop(bed, [])
            if occupant is None and admitted is not None and "notes" not in after:  # the admission kept them
                self.carried = [(r, admitted) for r in held]
        elif occupant is None and isinstance(after.get("notes"), str):
            if after["notes"]:
                self.unowned.setdefault(bed, []).append(row)
            else:
                self.unowned.pop(bed, None)
        return occupant


def _keys(before: Any, after: Any) -> set[str]:
    return {k for p in (*_patients(before), *_patients(after)) if (k := patient_key(p)) is not None}


def _terms(patient: JSONDict) -> set[str]:
    """What a search for this patient would have typed: NHS number, date of birth, the parts of the name."""
    words = set(_WORD.split(str(patient.get("name") or "").lower())) | {str(patient.get("nhs_number") or "")}
    return {w for w in words | {str(patient.get("date_of_birth") or "")} if len(w) > 1 and w != PURGED}


def _searched(row: Any, terms: AbstractSet[str]) -> bool:
    """A FHIR read whose query (`name=okoro`, `identifier=…|9434765919`) names a purged patient."""
    query = row["after"].get("query") if row["action"] == SEARCH and isinstance(row["after"], dict) else None
    if not isinstance(query, str) or query == PURGED:
        return False
    text = unquote_plus(query).lower()
    return bool(terms & (set(_WORD.split(text)) | set(_DATE.findall(text))))


_REWRITE: Final = (
    update(_A).where(_A.c.id == bindparam("rid")).values(before=bindparam("new_before"), after=bindparam("new_after"))
)


@dataclass(frozen=True)
class Plan:
    """What one run will purge, worked out by reading alone (no lock, off SQLite's one writer): the patients,
    what a search for them would have typed, the audit records to rewrite (id → its bed's notes go too), the
    observation sets, and the newest audit record read, so `apply` can see who was named since."""

    cutoff: dt.datetime
    keys: frozenset[str]
    terms: frozenset[str]
    audit: dict[int, bool]
    observations: tuple[int, ...]
    top_id: int
    remaining: int
    feed_messages: int
    feed_cancels: int

    def report(self) -> PurgeReport:
        return PurgeReport(len(self.keys), len(self.audit), len(self.observations), self.feed_messages,
                           self.feed_cancels, remaining=self.remaining)  # fmt: skip

    @property
    def empty(self) -> bool:
        return not self.keys and not self.feed_messages and not self.feed_cancels


def _current(conn: Connection) -> set[str | None]:
    return {patient_key(p) for (p,) in conn.execute(select(_B.c.patient).where(_B.c.patient.is_not(None)))}


def plan(conn: Connection, cutoff: dt.datetime, limit: int | None) -> Plan:
    """Patients named in audit records older than `cutoff`, in none since, and on no bed now (at most `limit`
    of them, the rest `remaining`), and every record and observation set naming them."""
    top_id = int(conn.execute(select(func.max(_A.c.id))).scalar() or 0)
    spared = _current(conn)
    for before, after in conn.execute(select(_A.c.before, _A.c.after).where(_A.c.at >= cutoff, _A.c.id <= top_id)):
        spared |= _keys(before, after)
    terms: dict[str, set[str]] = {}
    seen: list[tuple[int, set[str], str | None, Any]] = []  # id, who it names, who was in the bed, the record
    occupancy = _Occupancy()
    old = select(_A.c.id, _A.c.chain, _A.c.bed_id, _A.c.action, _A.c.before, _A.c.after)
    for row in conn.execute(old.where(_A.c.at < cutoff, _A.c.id <= top_id).order_by(_A.c.chain, _A.c.pos)).mappings():
        named: set[str] = set()
        for p in (*_patients(row["before"]), *_patients(row["after"])):
            if (key := patient_key(p)) is not None:
                named.add(key)
                if key not in spared:
                    terms.setdefault(key, set()).update(_terms(p))
        occupant = occupancy.before(row)
        if named - spared or (occupant is not None and occupant not in spared) or row["action"] == SEARCH:
            seen.append((row["id"], named, occupant, row))
        seen.extend((held["id"], set(), key, held) for held, key in occupancy.carried if key not in spared)
    due = sorted(terms)
    keys = frozenset(due if limit is None else due[:limit])
    words = frozenset(t for k in keys for t in terms[k])
    records = {rid: occupant in keys and not named for rid, named, occupant, row in seen
               if named & keys or (occupant in keys and not named) or _searched(row, words)}  # fmt: skip
    return Plan(cutoff, keys, words, records, _observations(conn, keys), top_id, len(due) - len(keys),
                _count(conn, _F.c.received_at, cutoff), _count(conn, _C.c.received_at, cutoff))  # fmt: skip


def apply(conn: Connection, plan: Plan, now: dt.datetime) -> PurgeReport:
    """Carry a plan out in the caller's write transaction; audited, one record per ward.

    Every ward is held first (in id order, as writes and moves lock them; SQLite's writer is alone already), and
    a patient put back on a bed or named since the plan was read makes the whole plan wait for the next run."""
    conn.execute(select(_W.c.id).order_by(_W.c.id).with_for_update()).all()
    if plan.keys:
        since = select(_A.c.before, _A.c.after).where(_A.c.id > plan.top_id)
        named = {k for before, after in conn.execute(since) for k in _keys(before, after)}
        if plan.keys & (named | _current(conn)):
            return PurgeReport(remaining=plan.remaining + len(plan.keys))
    report = plan.report()
    changed: dict[str, dict[str, str]] = {}
    ids = sorted(plan.audit)
    for i in range(0, len(ids), ID_CHUNK):
        rewritten: list[dict[str, Any]] = []
        for row in conn.execute(select(_A).where(_A.c.id.in_(ids[i : i + ID_CHUNK]))).mappings().all():
            notes = plan.audit[row["id"]]
            after = _scrub(row["after"], plan.keys, notes)
            if _searched(row, plan.terms):
                after = {**after, "query": PURGED}
            rec = dict(row) | {"before": _scrub(row["before"], plan.keys, notes), "after": after}
            changed.setdefault(row["chain"], {})[str(row["id"])] = audit.record_hash(rec)
            rewritten.append({"rid": row["id"], "new_before": rec["before"], "new_after": rec["after"]})
        if rewritten:  # one executemany per chunk, not a round trip per record
            conn.execute(_REWRITE, rewritten)
    for i in range(0, len(plan.observations), ID_CHUNK):
        chunk = plan.observations[i : i + ID_CHUNK]
        conn.execute(update(_OB).where(_OB.c.id.in_(chunk)).values(nhs_number=None, patient_name=PURGED))
    report.feed_messages = int(conn.execute(_F.delete().where(_F.c.received_at < plan.cutoff)).rowcount)
    report.feed_cancels = int(conn.execute(_C.delete().where(_C.c.received_at < plan.cutoff)).rowcount)
    report.wards = {chain: len(done) for chain, done in changed.items()}
    for chain, done in changed.items():
        body = report.as_dict() | {"cutoff": audit.canonical_time(plan.cutoff), "audit_records": done}
        ward = None if chain == audit.SYSTEM_CHAIN else chain
        audit.append(conn, at=now, **ACTOR, action=ACTION, ward_id=ward, after=body)
    return report


def _observations(conn: Connection, keys: frozenset[str]) -> tuple[int, ...]:
    """The observation sets of these patients. Matched here, not in SQL: a thousand patients due at once would be
    a thousand OR-ed clauses, past SQLite's limit."""
    if not keys:
        return ()
    named = or_(_OB.c.nhs_number.is_not(None), _OB.c.patient_name.is_not(None) & (_OB.c.patient_name != PURGED))
    rows = conn.execute(select(_OB.c.id, _OB.c.nhs_number, _OB.c.patient_name, _OB.c.admitted_at).where(named))
    return tuple(r.id for r in rows if patient_key({"nhs_number": r.nhs_number, "name": r.patient_name,
                                                    "admitted_at": r.admitted_at}) in keys)  # fmt: skip


def _count(conn: Connection, column: Any, cutoff: dt.datetime) -> int:
    """Feed rows older than the cutoff: a resend or an out-of-order cancel days later is long past mattering."""
    return int(conn.execute(select(func.count()).where(column < cutoff)).scalar() or 0)
