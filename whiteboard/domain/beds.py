"""The ward's rules: what a bed update may say and what it does to a bed.

Pure: no I/O. The write path calls `parse_patch` before touching the database (shape and types, by the
`wire.requests.BedUpdate` model, then the rules no schema states)
and `apply_patch` inside the transaction against the committed bed (state rules), so two nurses
racing for the same bed are judged against what is really there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, get_args

from pydantic import ValidationError

from whiteboard.domain import news2, redact
from whiteboard.domain.clock import iso, utc_now
from whiteboard.domain.patient import IDENTITY_FIELDS, check_expected, initials_of
from whiteboard.domain.wire.refusal import refusal
from whiteboard.domain.wire.requests import (
    BED_UPDATE,
    DISPLAY_PROFILE_UPDATE,
    BedUpdate,
    PatientUpdate,
    TaskInput,
)
from whiteboard.domain.wire.values import DischargeStatus, Flag, Sex, Status, TaskKind
from whiteboard.errors import DomainError
from whiteboard.types import JSONDict

# The vocabularies and limits are the wire models' (`wire.values`): one definition, here as tuples.
STATUSES: Final[tuple[str, ...]] = get_args(Status)
# Coded safety flags (DOMAIN.md). `dnacpr` is a staff-only flag: the privacy filter drops it.
FLAGS: Final[tuple[str, ...]] = get_args(Flag)
TASK_KINDS: Final[tuple[str, ...]] = get_args(TaskKind)
DISCHARGE_STATUSES: Final[tuple[str, ...]] = get_args(DischargeStatus)
SEXES: Final[tuple[str, ...]] = get_args(Sex)
BED_FIELDS: Final = frozenset(BedUpdate.__annotations__)
PATIENT_FIELDS: Final = frozenset(PatientUpdate.__annotations__)
_MISSING: Final = object()


@dataclass(frozen=True)
class BedPatch:
    """A validated bed update. `patient` is `_MISSING` when absent, None to discharge, a dict to merge.

    `admit` (the body's `"admit": true`): `patient` is a new admission that replaces whatever record is
    on the bed, field for field; nothing of the previous patient carries over.
    """

    status: str | None
    notes: str | None
    patient: Any
    # Set for updates that only make sense for a patient already on the bed (observations, feeds' A08).
    existing_patient_only: bool = False
    admit: bool = False
    # Feeds: the identity (name, NHS number, date of birth) of the patient who must be on the bed for this
    # change to apply (a discharge or leave for someone else is refused, never applied to whoever is there).
    expect: JSONDict | None = None
    # Feeds: coded flags set or cleared on the patient on the bed (leave of absence, isolation), judged
    # against the committed flags so a nurse's flags are kept.
    add_flags: tuple[str, ...] = ()
    remove_flags: tuple[str, ...] = ()

    @property
    def touches_patient(self) -> bool:
        return self.patient is not _MISSING


def parse_patch(body: Any) -> BedPatch:
    """Check shape and types of a bed update (the `BedUpdate` model; no state yet): 422 naming the first bad field."""
    try:
        data = BED_UPDATE.validate_python(body)
    except ValidationError as exc:
        raise refusal(exc, body) from None
    if not data:
        raise DomainError("the update is empty; send at least one of status, notes, patient", None, "empty")
    admit = data.get("admit", False)
    patient: Any = _MISSING
    if "patient" in data:
        raw = data["patient"]
        patient = None if raw is None else _patient_fields(raw)
    if admit:
        if not isinstance(patient, dict):
            raise DomainError('"admit": true needs the new patient\'s record in patient', "patient", "missing")
        if "name" not in patient:
            raise DomainError("admitting a patient needs at least their name", "patient.name", "missing")
    return BedPatch(status=data.get("status"), notes=data.get("notes"), patient=patient, admit=admit)


def _patient_fields(fields: PatientUpdate) -> JSONDict:
    """The sent patient fields as stored: tasks numbered and filled in, a bare NEWS2 score classified."""
    out: JSONDict = dict(fields)
    if "tasks" in fields:
        out["tasks"] = _tasks(fields["tasks"])
    decision = fields.get("spo2_scale_2")
    if decision is not None:  # the server's clock says when it was recorded
        out["spo2_scale_2"] = {"decided_by": decision["decided_by"], "decided_at": iso(utc_now())}
    raw = fields.get("news2")
    if raw is not None:
        # A feed or nurse may send a bare score; risk and the next-due time are always computed here.
        red = raw.get("red_score", False)
        if red and raw["score"] < 3:
            raise DomainError(
                "a red score (3 in one parameter) means the aggregate is at least 3", "patient.news2.red_score"
            )
        recorded = raw.get("recorded_at")
        at = dt.datetime.fromisoformat(recorded) if recorded is not None else utc_now()
        out["news2"] = news2.to_json(news2.result_from_score(raw["score"], red), at)
    return out


def _tasks(tasks: list[TaskInput]) -> list[JSONDict]:
    """Task ids are unique within the list; a task without one is numbered by its position."""
    out: list[JSONDict] = []
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        task_id = task.get("id", f"t{i + 1}")
        if task_id in seen:
            raise DomainError(f"task id {task_id!r} is used twice", f"patient.tasks[{i}].id")
        seen.add(task_id)
        kind, text, done = task.get("kind", "other"), task.get("text", ""), task.get("done", False)
        out.append({"id": task_id, "kind": kind, "text": text, "done": done})
    return out


@dataclass(frozen=True)
class DisplayProfile:
    """A ward's public-board field set; None restores the safe default."""

    fields: frozenset[str] | None


def parse_display_profile(body: Any) -> DisplayProfile:
    """`{"fields": [...]}` (the `DisplayProfileUpdate` model), then the privacy rule: never an identifier."""
    try:
        raw = DISPLAY_PROFILE_UPDATE.validate_python(body)["fields"]
    except ValidationError as exc:
        raise refusal(exc, body, code="wrong_type", field="fields") from None
    if raw is None:
        return DisplayProfile(None)
    for name in raw:
        if name in redact.NEVER_ON_DISPLAY:
            raise DomainError(
                f"{name!r} identifies the patient or is staff-only: it is never shown on a display",
                "fields",
                "not_displayable",
            )
        if name not in redact.DISPLAYABLE:
            raise DomainError(
                f"unknown field {name!r}; choose from: {', '.join(sorted(redact.DISPLAYABLE))}",
                "fields",
                "unknown_value",
            )
    return DisplayProfile(frozenset(raw))


@dataclass(frozen=True)
class ReadRecord:
    """A person read identifiable data (a snapshot, a replay): audited like a change, without one."""

    action: str  # read.snapshot | read.events | read.ws_snapshot | read.ws_replay
    detail: dict[str, Any]


@dataclass(frozen=True)
class BedChange:
    """What one accepted update does: the event kind, the changed fields' new values, and the old ones."""

    kind: str
    changes: JSONDict
    before: JSONDict
    status: str
    notes: str
    patient: JSONDict | None


def apply_patch(bed: JSONDict, patch: BedPatch, now: dt.datetime) -> BedChange | None:
    """Judge `patch` against the committed `bed`; None when it changes nothing."""
    old_patient: JSONDict | None = bed["patient"]
    if patch.expect is not None:
        check_expected(old_patient, patch.expect)
    new_patient = old_patient
    kind = "bed.updated"
    status = patch.status
    if patch.touches_patient:
        if patch.patient is None:
            if old_patient is None:
                raise DomainError("there is no patient on this bed to discharge", "patient", "no_patient")
            new_patient = None
            kind = "patient.discharged"
            if status is None:
                status = "cleaning"  # a discharged bed is cleaned before the next patient
        elif old_patient is None or patch.admit:
            if patch.existing_patient_only:
                raise DomainError("there is no patient on this bed", "patient", "no_patient")
            new_patient = _admit(patch.patient, now)
            kind = "patient.admitted"
            if status is None and bed["status"] == "empty":
                status = "occupied"
        else:
            if not _identified(old_patient, patch.expect):
                _refuse_identity_change(old_patient, patch.patient)
            new_patient = {**old_patient, **patch.patient}
            if "name" in patch.patient and "initials" not in patch.patient:
                new_patient["initials"] = initials_of(new_patient["name"])
    if patch.add_flags or patch.remove_flags:
        if new_patient is None:
            raise DomainError("there is no patient on this bed to flag", "patient", "no_patient")
        kept = [f for f in new_patient.get("flags") or () if f not in patch.remove_flags]
        new_patient = {**new_patient, "flags": kept + [f for f in patch.add_flags if f not in kept]}
    status = status or bed["status"]
    if new_patient is not None and status != "occupied":
        raise DomainError(
            f"a patient cannot be on a {status} bed: set status to occupied, or discharge the patient first",
            "status",
            "conflict",
        )
    if new_patient is None and status == "occupied":
        raise DomainError("an occupied bed needs a patient: send the patient's details with it", "patient", "conflict")
    leaves = old_patient is not None and (new_patient is None or patch.admit)  # the bed's patient goes
    notes = notes_after(bed["notes"], patch.notes, leaves=leaves)

    changes: JSONDict = {}
    before: JSONDict = {}
    if status != bed["status"]:
        changes["status"], before["status"] = status, bed["status"]
    if notes != bed["notes"]:
        changes["notes"], before["notes"] = notes, bed["notes"]
    if new_patient != old_patient:
        changes["patient"], before["patient"] = new_patient, old_patient
    if not changes:
        return None
    return BedChange(kind, changes, before, status, notes, new_patient)


def notes_after(current: str, sent: str | None, *, leaves: bool) -> str:
    """The bed's notes after a change: what the body sent, else cleared when the bed's patient leaves it.

    Nurses write about the patient in the bed ("daughter calling at 3", "for CT head"), so while a bed is
    occupied its notes are the patient's (hazard H60): a discharge, or an `"admit": true` replacing the
    patient, clears them, or the next patient in the bed would be shown them, and retention could no longer tie
    them to the patient they name. Notes on a bed with no patient (why it is closed, "expected from ED") are the
    bed's and stay, through an admission too, where they become the new patient's. The audit record's
    `before` keeps what was cleared.
    """
    if sent is not None:
        return sent
    return "" if leaves else current


def _identified(current: JSONDict, expect: JSONDict | None) -> bool:
    """A feed named the patient on the bed by NHS number: its name or date of birth may be corrected (A08)."""
    nhs = (expect or {}).get("nhs_number")
    return nhs is not None and current.get("nhs_number") == nhs


def _refuse_identity_change(current: JSONDict, fields: JSONDict) -> None:
    """A merge into the patient on the bed may not say they are someone else (hazard H15).

    Sending the current values again is fine (clients resend what they show), and so is filling in one
    that was never known (an NHS number traced after admission); a different name, NHS number or date
    of birth is refused, because the rest of the record (consultant, NEWS2, tasks,
    DNACPR) belongs to the patient who is there. A new patient, or a corrected identity, is an explicit
    `"admit": true` with the whole record.
    """
    for key in IDENTITY_FIELDS:
        if key in fields and current.get(key) is not None and fields[key] != current[key]:
            raise DomainError(
                f"patient.{key} names a different patient from the one on this bed: discharge or transfer the "
                'current patient first (or, to replace the whole record, send "admit": true with the '
                "patient's full details)",
                f"patient.{key}",
                "patient_identity_change",
            )


def _admit(fields: JSONDict, now: dt.datetime) -> JSONDict:
    if "name" not in fields:
        raise DomainError("admitting a patient needs at least their name", "patient.name", "missing")
    patient: JSONDict = {
        "name": fields["name"],
        "initials": initials_of(fields["name"]),
        "nhs_number": None,
        "date_of_birth": None,
        "age": None,
        "sex": None,
        "consultant": None,
        "named_nurse": None,
        "admitted_at": iso(now),
        "edd": None,
        "medically_optimised": False,
        "discharge_pathway": None,
        "discharge_status": "not_planned",
        "red_green": "red",  # SAFER: every patient starts the day red
        "news2": None,
        "spo2_scale_2": None,
        "flags": [],
        "tasks": [],
    }
    patient.update(fields)
    return patient
