"""A `transaction` Bundle of Patient / Encounter / Location / Observation → one all-or-nothing `BedChanges`.

What each entry means on the board:
- `Location` (a bed, `WARD.BED`): its `operationalStatus` (table 0116) sets the bed's state; a ward's Location
  must name a ward that exists (wards and beds are made with `whiteboard ward add`).
- `Encounter` `arrived`/`in-progress` at a bed: the `subject` is in that bed, an admission when the bed has no
  patient, an update when it holds this patient; `finished`/`cancelled`/`entered-in-error`: discharged from it.
- `Patient`: the demographics of an Encounter's subject, or an update of a patient on the board (matched by the
  Patient id this server gave, or the NHS number).
- `Observation` (NEWS2 total score, `valueInteger`): the patient's latest NEWS2, as sent.
- `Observation`s of vital signs (LOINC-coded, each its own or as components, `feeds.fhir.readings`): all of one
  subject's make one charted set (`ObservationRecord`); the server scores NEWS2 from it and keeps it in the
  history, as `POST .../observations` does. An incomplete set is refused.
An Encounter that puts a patient who is in another bed into this one is a transfer (HL7 A02: the write path's
`Move`, to an empty bed); two patients trading beds are a swap (A17). Moves run first, then the other changes.
Refused, with an OperationOutcome naming the entry: a bed holding someone else, a ward outside the credential's
scope, anything the ward's rules refuse.
Every change is then judged again inside the one transaction (`store.writes`), against the committed beds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from whiteboard.domain.beds import BedPatch, parse_patch
from whiteboard.domain.changes import BedChanges
from whiteboard.domain.clock import iso, utc_now
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import ObservationRecord
from whiteboard.errors import ApiError
from whiteboard.feeds import vitals
from whiteboard.feeds.fhir import codes
from whiteboard.feeds.fhir import readings as fhir_vitals
from whiteboard.feeds.fhir.model import accept
from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.feeds.fhir.resources import patient_id, split_location_id
from whiteboard.feeds.fhir.search import Ward
from whiteboard.types import JSONDict

ENTRIES_MAX: Final = 500
_TYPES: Final = ("Location", "Patient", "Encounter", "Observation")


@dataclass
class _BedPlan:
    status: str | None = None
    patient: Any = ...  # ... untouched; None discharges; a dict sets fields
    admit: bool = False
    flags: list[str] = field(default_factory=list)
    entries: list[int] = field(default_factory=list)
    created: tuple[int, int | None] | None = None  # an admission: (its Encounter entry, its Patient entry)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the Bundle does: the changes, and each entry's answer (status, location) for the response Bundle."""

    changes: BedChanges
    answers: list[tuple[str, str]]
    beds: dict[tuple[str, str], list[int]]


def _fail(index: int, status: int, code: str, message: str, where: str = "") -> FhirError:
    return FhirError(status, code, f"entry {index}: {message}", f"Bundle.entry[{index}]{where}")


class _Planner:
    def __init__(self, wards: list[Ward], may_write: Callable[[str], bool]) -> None:
        self.wards = {w.id: w for w in wards}
        self.may_write = may_write
        self.beds: dict[tuple[str, str], _BedPlan] = {}
        self.patients: dict[str, tuple[int, JSONDict]] = {}  # fullUrl / Patient/id → (entry, board fields)
        self.answers: list[tuple[str, str]] = []
        self.used: set[int] = set()  # Patient entries that are an Encounter's or Observation's subject
        self.placed: dict[str, tuple[str, str]] = {}  # subject reference → the bed an Encounter here puts them in
        # board patient id → (entry, the bed they are in, the bed an Encounter moves them to)
        self.moves: dict[str, tuple[int, tuple[str, str], tuple[str, str]]] = {}
        self.where_now: dict[str, tuple[str, str]] = {}  # board patient id → (ward, bed) on the board
        # subject reference → (its vital-signs entries, their readings, when taken): one charted set each
        self.vitals: dict[str, tuple[list[int], vitals.VitalSet, list[dt.datetime]]] = {}
        self.now = utc_now()
        self.totals: dict[str, int] = {}  # subject reference → the entry sending their NEWS2 total as a score
        for w in wards:
            for bed in w.occupied():
                self.where_now[patient_id(bed["patient"])] = (w.id, bed["id"])

    def bed(self, index: int, reference: str, where: str) -> tuple[tuple[str, str], JSONDict]:
        ref = self.resolve_location(reference)
        ward_id, bed_id = split_location_id(ref)
        if not self.may_write(ward_id):
            raise _fail(index, 403, "forbidden", f"this credential may not change ward {ward_id!r}", where)
        ward = self.wards.get(ward_id)
        found = next((b for b in ward.beds if b["id"] == bed_id), None) if ward and bed_id else None
        if found is None:
            raise _fail(index, 404, "not-found", f"there is no bed Location {ref!r} (beds are WARD.BED)", where)
        return (ward_id, found["id"]), found

    def resolve_location(self, reference: str) -> str:
        return reference.rstrip("/").rsplit("/", 1)[-1] if "/" in reference else reference

    def plan(self, key: tuple[str, str], index: int) -> _BedPlan:
        p = self.beds.setdefault(key, _BedPlan())
        p.entries.append(index)
        return p


def _human_name(resource: JSONDict) -> str | None:
    for name in resource.get("name") or []:
        text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""]).strip()
        if text:
            return str(text)
    return None


def _patient_fields(resource: JSONDict) -> JSONDict:
    out: JSONDict = {}
    name = _human_name(resource)
    if name:
        out["name"] = name
    for ident in resource.get("identifier") or []:
        if ident.get("system") == codes.NHS_NUMBER and ident.get("value"):
            out["nhs_number"] = ident["value"]
    if resource.get("birthDate"):
        out["date_of_birth"] = resource["birthDate"]
    if resource.get("gender") in codes.GENDER_TO_SEX:
        out["sex"] = codes.GENDER_TO_SEX[resource["gender"]]
    return out


def _entries(bundle: Any) -> list[JSONDict]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirError(400, "structure", "POST /fhir takes a Bundle", "resourceType")
    accept(bundle)
    if bundle.get("type") != "transaction":
        raise FhirError(422, "not-supported", "only a Bundle of type transaction is processed here", "Bundle.type")
    entries: list[JSONDict] = bundle.get("entry") or []
    if not entries:
        raise FhirError(422, "required", "the transaction has no entries", "Bundle.entry")
    if len(entries) > ENTRIES_MAX:
        raise FhirError(413, "too-costly", f"at most {ENTRIES_MAX} entries per transaction", "Bundle.entry")
    for i, entry in enumerate(entries):
        resource = entry.get("resource")
        if resource is None or resource.get("resourceType") not in _TYPES:
            raise _fail(i, 422, "not-supported", f"each entry is one of {', '.join(_TYPES)}", ".resource")
        method = (entry.get("request") or {}).get("method")
        if method not in ("POST", "PUT"):
            raise _fail(i, 422, "not-supported", "entries are created (POST) or updated (PUT)", ".request.method")
    return entries


def plan_transaction(bundle: Any, wards: list[Ward], may_write: Callable[[str], bool]) -> Plan:
    """Map the Bundle onto the board as it is now (the transaction judges it again against what is committed)."""
    entries = _entries(bundle)
    p = _Planner(wards, may_write)
    for i, entry in enumerate(entries):  # Patients first: Encounters and Observations refer to them
        res = entry["resource"]
        if res["resourceType"] == "Patient":
            fields = _patient_fields(res)
            for key in filter(None, (entry.get("fullUrl"), f"Patient/{res['id']}" if res.get("id") else None)):
                p.patients[key] = (i, fields)
    p.answers = [("200 OK", "")] * len(entries)
    for i, entry in enumerate(entries):
        res = entry["resource"]
        kind = res["resourceType"]
        if kind == "Location":
            _location(p, i, res, entry)
        elif kind == "Encounter":
            _encounter(p, i, res)
    for i, entry in enumerate(entries):
        res = entry["resource"]
        if res["resourceType"] == "Patient" and i not in p.used:
            _patient_update(p, i, res)
        elif res["resourceType"] == "Observation":
            _observation(p, i, res)
    return _finish(p)


def _location(p: _Planner, i: int, res: JSONDict, entry: JSONDict) -> None:
    ref = res.get("id") or (entry.get("request") or {}).get("url", "").removeprefix("Location/")
    ward_id, bed_id = split_location_id(ref)
    if bed_id is None:
        if ward_id not in p.wards:
            raise _fail(i, 422, "not-supported", f"there is no ward {ward_id!r}: create it with `whiteboard ward add`")
        if not p.may_write(ward_id):
            raise _fail(i, 403, "forbidden", f"this credential may not change ward {ward_id!r}")
        return
    key, bed = p.bed(i, f"Location/{ref}", ".resource.id")
    status = res.get("operationalStatus")
    if status is None:
        return
    if status.get("system") != codes.V2_0116 or status.get("code") not in codes.CODE_TO_STATUS:
        raise _fail(i, 422, "code-invalid", "operationalStatus is a code of HL7 table 0116 (C H I K O U)",
                    ".resource.operationalStatus")  # fmt: skip
    plan = p.plan(key, i)
    plan.status = codes.CODE_TO_STATUS[status["code"]]
    flag = codes.CODE_TO_FLAG.get(status["code"])
    if flag is not None:
        current = list((bed.get("patient") or {}).get("flags") or [])
        plan.flags = current if flag in current else [*current, flag]


def _subject(p: _Planner, i: int, res: JSONDict) -> tuple[str | None, JSONDict, str]:
    """(the board's id for the patient if on the board, the fields the Bundle gives, the reference)."""
    ref = (res.get("subject") or {}).get("reference")
    if not ref:
        raise _fail(i, 422, "required", "needs a subject (the Patient)", ".resource.subject")
    given = p.patients.get(ref)
    fields = dict(given[1]) if given else {}
    if given is not None:
        p.used.add(given[0])
    board = ref.removeprefix("Patient/") if ref.removeprefix("Patient/") in p.where_now else None
    if board is None and fields.get("nhs_number"):
        for w in p.wards.values():
            for bed in w.occupied():
                if bed["patient"].get("nhs_number") == fields["nhs_number"]:
                    board = patient_id(bed["patient"])
    if given is None and board is None:
        where = ".resource.subject"
        raise _fail(i, 422, "not-found", f"subject {ref!r} is neither in this Bundle nor on the board", where)
    return board, fields, ref


def _encounter(p: _Planner, i: int, res: JSONDict) -> None:
    status = res.get("status")
    places = [loc["location"].get("reference") or "" for loc in res.get("location") or []]
    beds = [ref for ref in places if split_location_id(p.resolve_location(ref))[1] is not None]
    if len(beds) != 1:
        raise _fail(i, 422, "required", "an Encounter names exactly one bed Location (WARD.BED)", ".resource.location")
    key, bed = p.bed(i, beds[0], ".resource.location")
    board, fields, ref = _subject(p, i, res)
    here = patient_id(bed["patient"]) if bed.get("patient") else None
    if status in codes.LEFT_STATUSES:
        if here is None or (board is not None and board != here):
            raise _fail(i, 422, "conflict", f"bed {key[1]} does not hold this patient: nothing to discharge")
        plan = p.plan(key, i)
        plan.patient = None
        _with_subject(p, plan, ref)
        return
    if status not in codes.IN_BED_STATUSES:
        raise _fail(i, 422, "not-supported", "Encounter.status is arrived or in-progress (in the bed), or finished, "
                    "cancelled or entered-in-error (out of it)", ".resource.status")  # fmt: skip
    if board is not None and board != here:  # on the board in another bed: a transfer (or half of a swap)
        source = p.where_now[board]
        if not p.may_write(source[0]):
            raise _fail(i, 403, "forbidden", f"this credential may not change ward {source[0]!r}")
        if board in p.moves:
            raise _fail(i, 422, "conflict", "another Encounter in this Bundle already moves this patient")
        p.moves[board] = (i, source, key)
        plan = p.plan(key, i)
        _with_subject(p, plan, ref)
        p.placed[ref] = key
        if fields:
            plan.patient = fields  # applied in the new bed, after the move
        return
    plan = p.plan(key, i)
    _with_subject(p, plan, ref)
    p.placed[ref] = key
    if here is None:
        if "name" not in fields:
            raise _fail(i, 422, "required", "admitting a patient needs their Patient with a name in this Bundle")
        # The admission time is fixed here, so the Encounter id answered is the one the board will show.
        plan.patient = {**fields, "admitted_at": (res.get("period") or {}).get("start") or iso(utc_now())}
        plan.admit = True
        plan.status = plan.status or "occupied"
        given = p.patients.get(ref)
        plan.created = (i, given[0] if given is not None else None)
    elif here != board:
        raise _fail(i, 422, "conflict", f"bed {key[1]} holds another patient: discharge them first (finished)")
    else:
        plan.patient = fields


def _with_subject(p: _Planner, plan: _BedPlan, ref: str) -> None:
    """The subject's Patient entry is answered with the bed change it took part in."""
    given = p.patients.get(ref)
    if given is not None and given[0] not in plan.entries:
        plan.entries.append(given[0])


def _patient_update(p: _Planner, i: int, res: JSONDict) -> None:
    fields = _patient_fields(res)
    board = res.get("id") if res.get("id") in p.where_now else None
    if board is None:
        for pid, (ward_id, bed_id) in p.where_now.items():
            bed = next(b for b in p.wards[ward_id].beds if b["id"] == bed_id)
            if fields.get("nhs_number") and bed["patient"].get("nhs_number") == fields["nhs_number"]:
                board = pid
    if board is None:
        raise _fail(i, 422, "not-found", "this Patient is not on the board: send an Encounter that puts them in a bed")
    ward_id, bed_id = p.where_now[board]
    key, _bed = p.bed(i, f"Location/{ward_id}.{bed_id}", "")
    plan = p.plan(key, i)
    plan.patient = {**(plan.patient if isinstance(plan.patient, dict) else {}), **fields}


def _observation(p: _Planner, i: int, res: JSONDict) -> None:
    coded = [c for c in (res.get("code") or {}).get("coding") or [] if c.get("system") == codes.SNOMED]
    if not any(c.get("code") == codes.NEWS2_CODE["code"] for c in coded):
        if fhir_vitals.is_vitals(res):
            _vital_signs(p, i, res)
            return
        raise _fail(i, 422, "not-supported", f"an Observation is the NEWS2 total score (SNOMED CT "
                    f"{codes.NEWS2_CODE['code']}) or vital signs coded in LOINC (docs/FHIR.md)",
                    ".resource.code")  # fmt: skip
    score = res.get("valueInteger")
    if not isinstance(score, int) or isinstance(score, bool):
        raise _fail(i, 422, "required", "the NEWS2 score is a valueInteger", ".resource.valueInteger")
    board, _fields, ref = _subject(p, i, res)
    target = p.placed.get(ref)
    if target is None and board is not None:
        target = p.where_now[board]
    if target is None:
        raise _fail(i, 422, "not-found", "the subject is in no bed", ".resource.subject")
    red = any(e.get("url") == codes.RED_SCORE_EXT and e.get("valueBoolean") for e in res.get("extension") or [])
    news2: JSONDict = {"score": score, "red_score": red}
    if res.get("effectiveDateTime"):
        news2["recorded_at"] = res["effectiveDateTime"]
    key, _bed = p.bed(i, f"Location/{target[0]}.{target[1]}", "")
    plan = p.plan(key, i)
    plan.patient = {**(plan.patient if isinstance(plan.patient, dict) else {}), "news2": news2}
    p.totals[ref] = i


def _vital_signs(p: _Planner, i: int, res: JSONDict) -> None:
    """Collect this Observation's readings into its subject's set (charted in `_finish`)."""
    _board, _fields, ref = _subject(p, i, res)
    entries, readings, taken = p.vitals.setdefault(ref, ([], vitals.VitalSet.empty(), []))
    entries.append(i)
    try:
        fhir_vitals.add_readings(readings, res, f"{i}:.resource")  # the entry travels in `where` (see _charted)
        when = fhir_vitals.effective(res, p.now, ".resource")
    except vitals.VitalsError as exc:
        raise _fail(i, 422, "invalid", exc.message, exc.where.partition(":")[2] or exc.where) from None
    if when is not None:
        taken.append(when)


def _charted(p: _Planner) -> list[tuple[str, str, ObservationRecord]]:
    """Each subject's complete set, on the bed they are in (after this Bundle's moves and admissions)."""
    out: list[tuple[str, str, ObservationRecord]] = []
    for ref, (entries, readings, taken) in p.vitals.items():
        first = entries[0]
        if ref in p.totals:  # two NEWS2 for one patient: which one is the board to show?
            raise _fail(p.totals[ref], 422, "conflict", "this Bundle sends both a NEWS2 total and vital signs for "
                        "this patient: send the vital signs (the server scores them) or the total")  # fmt: skip
        board = ref.removeprefix("Patient/") if ref.removeprefix("Patient/") in p.where_now else None
        given = p.patients.get(ref)
        if board is None and given is not None and given[1].get("nhs_number"):
            board = next((pid for pid, key in p.where_now.items() if _nhs_at(p, key) == given[1]["nhs_number"]), None)
        target = p.placed.get(ref) or (p.where_now[board] if board is not None else None)
        if target is None:
            raise _fail(first, 422, "not-found", "the subject is in no bed", ".resource.subject")
        known: JSONDict = dict(given[1]) if given is not None else {}
        if board is not None:
            known = {**_patient_at(p, p.where_now[board]), **known}
        try:  # `expect`: the transaction charts it only while the bed holds this patient
            rec = readings.charted(max(taken) if taken else p.now, expect=_identity(known))
        except vitals.VitalsError as exc:  # a missing parameter (the set's first entry), or a value out of range
            entry, _sep, path = exc.where.partition(":")
            at = int(entry) if entry.isdigit() else first
            raise _fail(at, 422, "incomplete" if not path else "invalid", exc.message, path) from None
        key, _bed = p.bed(first, f"Location/{target[0]}.{target[1]}", "")
        for e in entries:
            p.plan(key, e)
            p.answers[e] = ("201 Created", "")
        out.append((key[0], key[1], rec))
    return out


def _patient_at(p: _Planner, key: tuple[str, str]) -> JSONDict:
    bed = next(b for b in p.wards[key[0]].beds if b["id"] == key[1])
    return dict(bed.get("patient") or {})


def _nhs_at(p: _Planner, key: tuple[str, str]) -> object:
    return _patient_at(p, key).get("nhs_number")


def _identity(known: JSONDict) -> JSONDict | None:
    """Who the set is for, as the write checks it (`domain.patient.check_expected`): the NHS number, else the
    name and date of birth."""
    if known.get("nhs_number"):
        return {"nhs_number": known["nhs_number"]}
    who = {k: known[k] for k in ("name", "date_of_birth") if known.get(k)}
    return who or None


def _moves(p: _Planner) -> list[tuple[str, str, BedPatch | Move]]:
    """Two patients trading beds are one swap (HL7 A17); any other move is a transfer (A02), to an empty bed."""
    out: list[tuple[str, str, BedPatch | Move]] = []
    done: set[str] = set()
    for board, (_i, source, target) in p.moves.items():
        if board in done:
            continue
        partner = next((b for b, (_j, s2, t2) in p.moves.items() if b != board and (s2, t2) == (target, source)), None)
        out.append((source[0], source[1], Move(target[0], target[1], swap=partner is not None)))
        done |= {board, partner} if partner else {board}
    return out


def _finish(p: _Planner) -> Plan:
    items: list[tuple[str, str, BedPatch | Move | ObservationRecord]] = [*_moves(p)]
    charted = _charted(p)  # planned before the patches: its beds join `p.beds` for the refusal's entry
    for (ward_id, bed_id), plan in p.beds.items():
        body: JSONDict = {}
        if plan.status is not None:
            body["status"] = plan.status
        if plan.patient is not ...:
            body["patient"] = plan.patient
        if plan.flags:
            body["patient"] = {**(body.get("patient") or {}), "flags": plan.flags}
        if plan.admit:
            body["admit"] = True
        if not body:
            continue
        try:
            patch = parse_patch(body)
        except ApiError as exc:
            raise FhirError.from_api_error(exc, f"Bundle.entry[{plan.entries[0]}]") from None
        items.append((ward_id, bed_id, patch))
        if plan.created is not None:  # ids from the record as it will be stored (times normalised by parse_patch)
            created = patient_id(patch.patient)
            p.answers[plan.created[0]] = ("201 Created", f"Encounter/e{created[1:]}")
            if plan.created[1] is not None:
                p.answers[plan.created[1]] = ("201 Created", f"Patient/{created}")
    items.extend(charted)  # after the admissions and updates they may chart for
    return Plan(BedChanges(tuple(items)), p.answers, {k: v.entries for k, v in p.beds.items()})
