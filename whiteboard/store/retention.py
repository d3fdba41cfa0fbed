"""Retention: a discharged patient's identifiers are purged N days after they were last on a bed; the audit
trail stays, and stays verifiable.

Where a patient's identifiers live once they have left: the audit records' `before`/`after` (the whole
patient record, and the bed's notes; a FHIR search's query that named them), the observation history
(`nhs_number`, `patient_name`), and the feed tables (the ACKs kept for resends, the pending cancels, whose keys
name the patient). The beds themselves hold only who is on them now. A patient is the NHS number, else the name
with the admission time; "last seen" is the newest audit record naming them. Nobody on a bed now is ever
purged, however old their records.

Audit records keep their row, their place in the chain and their `hash` (so the chain still links); their
purged content is committed to by the purge's own audit record (one per ward and run, no identifiers in it:
counts and, per record, the hash of its purged form), which `audit.verify_chain` checks it against.
The event log (Redis or in-process) is bounded by WHITEBOARD_STREAM_MAXLEN, not by this (deploy/README.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote_plus

from sqlalchemy import Connection, or_, select, update

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
SEARCH: Final = "read.fhir"  # a FHIR search audited with its query (web/fhir/common.py)
_WORD: Final = re.compile(r"[^\w]+")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
PURGED: Final = "[purged]"
# What identifies a patient, or may (free text): gone from a purged record. Clinical facts without them stay.
PATIENT_FIELDS: Final = NEVER_ON_DISPLAY | {"initials"}
log = logging.getLogger("whiteboard.retention")
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


def _scrub(value: Any, purge: set[str], notes: bool = False) -> Any:
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
    the patient in the bed then. Fed the chain's records in order."""

    def __init__(self) -> None:
        self.chain: str | None = None
        self.beds: dict[str | None, str | None] = {}

    def before(self, row: Any) -> str | None:
        """The bed's occupant before this record; then the record's own `after.patient` takes the bed."""
        if row["chain"] != self.chain:
            self.chain, self.beds = row["chain"], {}
        occupant = self.beds.get(row["bed_id"])
        after = row["after"]
        if isinstance(after, dict) and "patient" in after:
            self.beds[row["bed_id"]] = patient_key(after["patient"])
        return occupant


def _keys(before: Any, after: Any) -> set[str]:
    return {k for p in (*_patients(before), *_patients(after)) if (k := patient_key(p)) is not None}


def _terms(patient: JSONDict) -> set[str]:
    """What a search for this patient would have typed: NHS number, date of birth, the parts of the name."""
    words = set(_WORD.split(str(patient.get("name") or "").lower())) | {str(patient.get("nhs_number") or "")}
    return {w for w in words | {str(patient.get("date_of_birth") or "")} if len(w) > 1 and w != PURGED}


def _searched(row: Any, terms: set[str]) -> bool:
    """A FHIR read whose query (`name=okoro`, `identifier=…|9434765919`) names a purged patient."""
    query = row["after"].get("query") if row["action"] == SEARCH and isinstance(row["after"], dict) else None
    if not isinstance(query, str) or query == PURGED:
        return False
    text = unquote_plus(query).lower()
    return bool(terms & (set(_WORD.split(text)) | set(_DATE.findall(text))))


def _to_purge(conn: Connection, cutoff: dt.datetime) -> tuple[set[str], set[str]]:
    """Patients named in records older than `cutoff`, in none since, and on no bed now, with their search terms.
    Records newer than the cutoff are read for who they name only; a purged patient has none, so the purge reads
    the older ones alone."""
    current = {patient_key(p) for (p,) in conn.execute(select(_B.c.patient).where(_B.c.patient.is_not(None)))}
    recent: set[str] = set()
    for before, after in conn.execute(select(_A.c.before, _A.c.after).where(_A.c.at >= cutoff)):
        recent |= _keys(before, after)
    old: dict[str, set[str]] = {}
    for before, after in conn.execute(select(_A.c.before, _A.c.after).where(_A.c.at < cutoff)):
        for p in (*_patients(before), *_patients(after)):
            if (key := patient_key(p)) is not None:
                old.setdefault(key, set()).update(_terms(p))
    keys = set(old) - recent - current
    return keys, {t for k in keys for t in old[k]}


def purge(conn: Connection, cutoff: dt.datetime, now: dt.datetime, dry_run: bool) -> PurgeReport:
    """Purge everything identifying the patients `_to_purge` finds, in the caller's (write) transaction."""
    report = PurgeReport()
    purge_keys, terms = _to_purge(conn, cutoff)
    if purge_keys and not dry_run:
        # Found someone: hold every ward (in id order, as writes and moves lock them) and look again, so nobody
        # admitted meanwhile on another instance is purged (PostgreSQL; SQLite's writer is alone already).
        conn.execute(select(_W.c.id).order_by(_W.c.id).with_for_update()).all()
        purge_keys, terms = _to_purge(conn, cutoff)
    report.patients = len(purge_keys)
    changed: dict[str, dict[str, str]] = {}
    if purge_keys:
        old = select(_A).where(_A.c.at < cutoff).order_by(_A.c.chain, _A.c.pos)
        occupancy = _Occupancy()
        for row in conn.execute(old).mappings().all():
            searched = _searched(row, terms)
            named = _keys(row["before"], row["after"])
            in_bed = occupancy.before(row) in purge_keys and not named  # a change to their bed naming nobody
            if not searched and not in_bed and not named & purge_keys:
                continue
            after = _scrub(row["after"], purge_keys, in_bed)
            rec = dict(row) | {"before": _scrub(row["before"], purge_keys, in_bed), "after": after}
            if searched:
                rec["after"] = {**after, "query": PURGED}
            changed.setdefault(row["chain"], {})[str(row["id"])] = audit.record_hash(rec)
            report.audit_records += 1
            if not dry_run:
                conn.execute(update(_A).where(_A.c.id == row["id"]).values(before=rec["before"], after=rec["after"]))
        report.observations = _purge_observations(conn, purge_keys, dry_run)
    report.feed_messages = _old_rows(conn, _F, _F.c.received_at, cutoff, dry_run)
    report.feed_cancels = _old_rows(conn, _C, _C.c.received_at, cutoff, dry_run)
    report.wards = {chain: len(ids) for chain, ids in changed.items()}
    if not dry_run:
        for chain, ids in changed.items():
            body = report.as_dict() | {"cutoff": audit.canonical_time(cutoff), "audit_records": ids}
            ward = None if chain == audit.SYSTEM_CHAIN else chain
            audit.append(conn, at=now, **ACTOR, action=ACTION, ward_id=ward, after=body)
    return report


def _purge_observations(conn: Connection, keys: set[str], dry_run: bool) -> int:
    """The observation sets of purged patients lose their name and NHS number (the vital signs stay). Matched
    here, not in SQL: a thousand patients due at once would be a thousand OR-ed clauses, past SQLite's limit."""
    named = or_(_OB.c.nhs_number.is_not(None), _OB.c.patient_name.is_not(None) & (_OB.c.patient_name != PURGED))
    rows = conn.execute(select(_OB.c.id, _OB.c.nhs_number, _OB.c.patient_name, _OB.c.admitted_at).where(named))
    ids = [r.id for r in rows if patient_key({"nhs_number": r.nhs_number, "name": r.patient_name,
                                              "admitted_at": r.admitted_at}) in keys]  # fmt: skip
    if not dry_run:
        for i in range(0, len(ids), ID_CHUNK):
            chunk = ids[i : i + ID_CHUNK]
            conn.execute(update(_OB).where(_OB.c.id.in_(chunk)).values(nhs_number=None, patient_name=PURGED))
    return len(ids)


def _old_rows(conn: Connection, table: Any, column: Any, cutoff: dt.datetime, dry_run: bool) -> int:
    """Feed rows older than the cutoff: a resend or an out-of-order cancel days later is long past mattering."""
    if dry_run:
        return len(conn.execute(select(column).where(column < cutoff)).all())
    return int(conn.execute(table.delete().where(column < cutoff)).rowcount)


async def purge_forever(store: Any, days: int, every_secs: float, clock: Callable[[], dt.datetime]) -> None:
    """The server's periodic purge (WHITEBOARD_RETENTION_DAYS): once at start-up, then every `every_secs`. A
    failed run (the database away) is logged and tried again next time; several instances may run it at once
    (each ward's records are purged under its row lock, and a purged record names nobody to purge again)."""
    while True:
        try:
            report = await store.purge_identifiers(days, now=clock())
        except Exception:
            log.exception("retention: the purge failed; trying again in %.0f s", every_secs)
        else:
            if report.patients or report.feed_messages or report.feed_cancels:
                log.info("retention: purged %s", report.as_dict())
        await asyncio.sleep(every_secs)
