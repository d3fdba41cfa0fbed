"""The ward's rules: what a bed update may say and what it does to a bed.

Pure: no I/O. The write path calls `parse_patch` before touching the database (shape and types)
and `apply_patch` inside the transaction against the committed bed (state rules), so two nurses
racing for the same bed are judged against what is really there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from whiteboard.domain import news2
from whiteboard.domain.clock import iso, utc_now
from whiteboard.domain.patient import IDENTITY_FIELDS, initials_of, nhs_number_valid
from whiteboard.errors import DomainError
from whiteboard.types import JSONDict

STATUSES: Final = ("empty", "occupied", "cleaning", "blocked", "closed")
# Coded safety flags (DOMAIN.md). `dnacpr` is a staff-only flag: the privacy filter drops it.
FLAGS: Final = (
    "falls",
    "pressure_damage",
    "nil_by_mouth",
    "nutrition",
    "dementia",
    "frailty",
    "learning_disability",
    "allergy",
    "infection",
    "isolation",
    "dnacpr",
    "similar_name",
)
TASK_KINDS: Final = ("bloods", "tests", "results", "therapy", "tto", "transport", "porter", "other")
DISCHARGE_STATUSES: Final = ("not_planned", "planned", "awaiting_tto", "awaiting_transport", "ready")
SEXES: Final = ("F", "M", "X", "U")
NOTES_MAX_CHARS: Final = 500
TASKS_MAX: Final = 30
BED_FIELDS: Final = frozenset({"status", "notes", "patient", "admit"})
_MISSING: Final = object()


# --- field validators: each returns the clean value or raises DomainError naming the field ---


def _text(value: Any, field: str, max_len: int, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{field} must be a string", field, "wrong_type")
    if len(value) > max_len:
        raise DomainError(f"{field} is {len(value)} characters; at most {max_len} are allowed", field, "too_long")
    if "\x00" in value:  # never typed by a person, and PostgreSQL refuses it in text and JSON (a 503, not a 422)
        raise DomainError(f"{field} must not contain a NUL character", field, "bad_character")
    if not allow_empty and not value.strip():
        raise DomainError(f"{field} must not be empty", field)
    return value


def _optional(fn: Any) -> Any:
    def check(value: Any, field: str) -> Any:
        return None if value is None else fn(value, field)

    return check


def _choice(options: tuple[str, ...]) -> Any:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or value not in options:
            raise DomainError(f"{field} must be one of: {', '.join(options)}", field, "unknown_value")
        return value

    return check


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise DomainError(f"{field} must be true or false", field, "wrong_type")
    return value


def _int_range(lo: int, hi: int) -> Any:
    def check(value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise DomainError(f"{field} must be a whole number from {lo} to {hi}", field, "wrong_type")
        return value

    return check


def _date(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{field} must be a date like 2026-11-22", field, "wrong_type")
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{field} must be a date like 2026-11-22", field, "wrong_type") from None
    if not 1900 <= parsed.year <= 2200:
        raise DomainError(f"{field} is out of range", field)
    return parsed.isoformat()


def _datetime(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{field} must be a time like 2026-11-22T09:30:00Z", field, "wrong_type")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{field} must be a time like 2026-11-22T09:30:00Z", field, "wrong_type") from None
    if parsed.tzinfo is None:
        raise DomainError(f"{field} needs a UTC offset, e.g. 2026-11-22T09:30:00Z", field)
    if not 1900 <= parsed.year <= 2200:  # as for dates; also keeps UTC and `next_due` inside datetime's range
        raise DomainError(f"{field} is out of range", field)
    return iso(parsed)


def _nhs_number(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{field} must be a string of 10 digits", field, "wrong_type")
    digits = value.replace(" ", "")
    if not nhs_number_valid(digits):
        raise DomainError(f"{field} is not a valid NHS number (10 digits with a correct check digit)", field)
    return digits


def _flags(value: Any, field: str) -> list[str]:
    if not isinstance(value, list):
        raise DomainError(f"{field} must be a list of flag codes", field, "wrong_type")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in FLAGS:
            raise DomainError(f"{field} may only hold: {', '.join(FLAGS)}", field, "unknown_value")
        if item not in out:
            out.append(item)
    return out


_TASK_FIELDS = {"id", "kind", "text", "done"}


def _tasks(value: Any, field: str) -> list[JSONDict]:
    if not isinstance(value, list):
        raise DomainError(f"{field} must be a list of tasks", field, "wrong_type")
    if len(value) > TASKS_MAX:
        raise DomainError(f"{field} holds {len(value)} tasks; at most {TASKS_MAX} are allowed", field, "too_long")
    out: list[JSONDict] = []
    seen: set[str] = set()
    for i, task in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(task, dict):
            raise DomainError(f"{where} must be an object with kind and text", where, "wrong_type")
        unknown = set(task) - _TASK_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            raise DomainError(f"unknown field {name!r} in a task", f"{where}.{name}", "unknown_field")
        task_id = _text(task.get("id", f"t{i + 1}"), f"{where}.id", 40, allow_empty=False)
        if task_id in seen:
            raise DomainError(f"task id {task_id!r} is used twice", f"{where}.id")
        seen.add(task_id)
        out.append(
            {
                "id": task_id,
                "kind": _choice(TASK_KINDS)(task.get("kind", "other"), f"{where}.kind"),
                "text": _text(task.get("text", ""), f"{where}.text", 200),
                "done": _bool(task.get("done", False), f"{where}.done"),
            }
        )
    return out


def _news2(value: Any, field: str) -> JSONDict:
    """A feed or nurse may send a bare score; risk and the next-due time are always computed here."""
    if not isinstance(value, dict):
        raise DomainError(f"{field} must be an object like {{'score': 3, 'red_score': false}}", field, "wrong_type")
    unknown = set(value) - {"score", "red_score", "recorded_at"}
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(f"unknown field {name!r} in news2", f"{field}.{name}", "unknown_field")
    if "score" not in value:
        raise DomainError("news2 needs a score", f"{field}.score")
    score = _int_range(0, 20)(value["score"], f"{field}.score")
    red = _bool(value.get("red_score", False), f"{field}.red_score")
    if red and score < 3:
        raise DomainError("a red score (3 in one parameter) means the aggregate is at least 3", f"{field}.red_score")
    recorded = value.get("recorded_at")
    recorded_at = (
        dt.datetime.fromisoformat(_datetime(recorded, f"{field}.recorded_at")) if recorded is not None else utc_now()
    )
    result = news2.result_from_score(score, red)
    return news2.to_json(result, recorded_at)


PATIENT_FIELDS: Final[dict[str, Any]] = {
    "name": lambda v, f: _text(v, f, 100, allow_empty=False),
    "initials": lambda v, f: _text(v, f, 8),
    "nhs_number": _optional(_nhs_number),
    "date_of_birth": _optional(_date),
    "age": _optional(_int_range(0, 130)),
    "sex": _optional(_choice(SEXES)),
    "consultant": _optional(lambda v, f: _text(v, f, 100)),
    "named_nurse": _optional(lambda v, f: _text(v, f, 100)),
    "admitted_at": _optional(_datetime),
    "edd": _optional(_date),
    "medically_optimised": _bool,
    "discharge_pathway": _optional(_int_range(0, 3)),
    "discharge_status": _choice(DISCHARGE_STATUSES),
    "red_green": _choice(("red", "green")),
    "news2": _optional(_news2),
    "flags": _flags,
    "tasks": _tasks,
}


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

    @property
    def touches_patient(self) -> bool:
        return self.patient is not _MISSING


def parse_patch(body: Any) -> BedPatch:
    """Check shape and types of a bed update (no state yet): 422 naming the first bad field."""
    if not isinstance(body, dict):
        raise DomainError("the body must be a JSON object of bed fields", None, "wrong_type")
    unknown = set(body) - BED_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(
            f"unknown field {name!r}; a bed update may set status, notes and patient", name, "unknown_field"
        )
    if not body:
        raise DomainError("the update is empty; send at least one of status, notes, patient", None, "empty")
    admit = _bool(body["admit"], "admit") if "admit" in body else False
    status = _choice(STATUSES)(body["status"], "status") if "status" in body else None
    notes = _text(body["notes"], "notes", NOTES_MAX_CHARS) if "notes" in body else None
    patient: Any = _MISSING
    if "patient" in body:
        raw = body["patient"]
        if raw is None:
            patient = None
        elif isinstance(raw, dict):
            patient = {}
            for key, value in raw.items():
                check = PATIENT_FIELDS.get(key)
                if check is None:
                    raise DomainError(f"unknown patient field {key!r}", f"patient.{key}", "unknown_field")
                patient[key] = check(value, f"patient.{key}")
        else:
            raise DomainError("patient must be an object, or null to discharge", "patient", "wrong_type")
    if admit:
        if not isinstance(patient, dict):
            raise DomainError('"admit": true needs the new patient\'s record in patient', "patient", "missing")
        if "name" not in patient:
            raise DomainError("admitting a patient needs at least their name", "patient.name", "missing")
    return BedPatch(status=status, notes=notes, patient=patient, admit=admit)


@dataclass(frozen=True)
class DisplayProfile:
    """A ward's public-board field set; None restores the safe default."""

    fields: frozenset[str] | None


def parse_display_profile(body: Any) -> DisplayProfile:
    from whiteboard.domain import redact

    if not isinstance(body, dict) or set(body) != {"fields"}:
        raise DomainError('send {"fields": [...]} (or {"fields": null} for the safe default)', "fields", "wrong_type")
    raw = body["fields"]
    if raw is None:
        return DisplayProfile(None)
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise DomainError("fields must be a list of field names", "fields", "wrong_type")
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
            _refuse_identity_change(old_patient, patch.patient)
            new_patient = {**old_patient, **patch.patient}
            if "name" in patch.patient and "initials" not in patch.patient:
                new_patient["initials"] = initials_of(new_patient["name"])
    status = status or bed["status"]
    if new_patient is not None and status != "occupied":
        raise DomainError(
            f"a patient cannot be on a {status} bed: set status to occupied, or discharge the patient first",
            "status",
            "conflict",
        )
    if new_patient is None and status == "occupied":
        raise DomainError("an occupied bed needs a patient: send the patient's details with it", "patient", "conflict")
    notes = bed["notes"] if patch.notes is None else patch.notes

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
        "flags": [],
        "tasks": [],
    }
    patient.update(fields)
    return patient


def blank_bed(bed_id: str, bay: str) -> JSONDict:
    return {
        "id": bed_id,
        "bay": bay,
        "status": "empty",
        "notes": "",
        "patient": None,
        "updated_at": None,
        "version": 0,
        "similar_name": False,
    }
