"""The ward's rules, as pure functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from whiteboard.domain.beds import BedChange, BedPatch, apply_patch, parse_display_profile, parse_patch
from whiteboard.domain.patient import nhs_number_valid, similar_names
from whiteboard.errors import DomainError

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def bed(status: str = "empty", patient: Mapping[str, object] | None = None, notes: str = "") -> dict[str, object]:
    return {"status": status, "notes": notes, "patient": dict(patient) if patient is not None else None}


def apply(b: dict[str, object], body: dict[str, object]) -> BedChange | None:
    return apply_patch(b, parse_patch(body), NOW)


def test_admission_fills_defaults_and_occupies_an_empty_bed() -> None:
    change = apply(bed(), {"patient": {"name": "Florence Nightingale"}})
    assert change is not None and change.kind == "patient.admitted" and change.status == "occupied"
    p = change.patient
    assert p is not None and p["initials"] == "F.N." and p["red_green"] == "red" and p["tasks"] == []
    assert p["admitted_at"] == "2026-11-22T09:00:00.000Z"


def test_discharge_sends_the_bed_to_cleaning() -> None:
    change = apply(bed("occupied", {"name": "A B"}), {"patient": None})
    assert change is not None and (change.kind, change.status, change.patient) == (
        "patient.discharged",
        "cleaning",
        None,
    )


def test_updates_merge_into_the_patient_and_report_only_changes() -> None:
    before = {"name": "A B", "initials": "A.B.", "flags": []}
    change = apply(bed("occupied", before), {"patient": {"flags": ["falls"]}})
    assert change is not None and change.kind == "bed.updated"
    assert change.changes == {"patient": {**before, "flags": ["falls"]}}
    assert change.before == {"patient": before}
    assert apply(bed("occupied", before), {"patient": {"flags": []}}) is None


@pytest.mark.parametrize(
    ("start", "body", "field"),
    [
        (bed("cleaning"), {"patient": {"name": "A B"}}, "status"),
        (bed("occupied", {"name": "A B"}), {"status": "empty"}, "status"),
        (bed("empty"), {"status": "occupied"}, "patient"),
        (bed("empty"), {"patient": {"initials": "A.B."}}, "patient.name"),
    ],
)
def test_changes_that_make_no_sense_are_refused_with_a_reason(
    start: dict[str, object], body: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainError) as err:
        apply(start, body)
    assert err.value.field == field and err.value.status == 422


def test_nhs_number_check_digit() -> None:
    assert nhs_number_valid("9434765919")
    assert not nhs_number_valid("9434765918")
    assert parse_patch({"patient": {"nhs_number": "943 476 5919"}}).patient["nhs_number"] == "9434765919"


def test_tasks_are_validated_and_numbered() -> None:
    patch = parse_patch({"patient": {"tasks": [{"text": "Bloods"}, {"kind": "tto", "done": True}]}})
    assert patch.patient["tasks"] == [
        {"id": "t1", "kind": "other", "text": "Bloods", "done": False},
        {"id": "t2", "kind": "tto", "text": "", "done": True},
    ]
    with pytest.raises(DomainError, match="used twice"):
        parse_patch({"patient": {"tasks": [{"id": "a"}, {"id": "a"}]}})
    with pytest.raises(DomainError) as err:
        parse_patch({"patient": {"tasks": [{"text": "x", "colour": 1}]}})
    assert err.value.field == "patient.tasks[0].colour"


def test_news2_from_a_bare_score() -> None:
    patch = parse_patch({"patient": {"news2": {"score": 6, "red_score": False}}})
    assert patch.patient["news2"]["risk"] == "medium" and patch.patient["news2"]["monitoring"] == "hourly"
    with pytest.raises(DomainError):
        parse_patch({"patient": {"news2": {"score": 2, "red_score": True}}})
    with pytest.raises(DomainError):
        parse_patch({"patient": {"news2": {"score": 21}}})


def test_observation_only_updates_need_a_patient() -> None:
    patch = BedPatch(None, None, {"news2": None}, existing_patient_only=True)
    with pytest.raises(DomainError) as err:
        apply_patch(bed(), patch, NOW)
    assert err.value.code == "no_patient"


def test_display_profile_parsing() -> None:
    assert parse_display_profile({"fields": None}).fields is None
    assert parse_display_profile({"fields": ["initials"]}).fields == frozenset({"initials"})
    for bad in ({"fields": ["nhs_number"]}, {"fields": ["favourite_colour"]}, {"fields": "initials"}, {}):
        with pytest.raises(DomainError):
            parse_display_profile(bad)


# --- hazard H15: a patient's identity never changes under their record ---

SEACOLE = {
    "name": "Mary Seacole",
    "initials": "M.S.",
    "nhs_number": "9434765919",
    "date_of_birth": "1935-03-14",
    "consultant": "Dr Okafor",
    "flags": ["dnacpr"],
    "tasks": [{"id": "t1", "kind": "bloods", "text": "FBC", "done": False}],
}


@pytest.mark.parametrize(
    "identity",
    [
        {"name": "New Person"},
        {"nhs_number": "9434765870"},
        {"date_of_birth": "1990-01-01"},
        {"name": "New Person", "nhs_number": "9434765870", "date_of_birth": "1990-01-01"},
        {"nhs_number": None},
    ],
    ids=["name", "nhs_number", "date_of_birth", "all_three", "erase_nhs_number"],
)
def test_identity_change_on_an_occupied_bed_is_refused(identity: dict[str, object]) -> None:
    with pytest.raises(DomainError) as err:
        apply(bed("occupied", SEACOLE), {"status": "occupied", "patient": identity})
    assert err.value.status == 422 and err.value.code == "patient_identity_change"
    assert "discharge or transfer the current patient first" in err.value.message
    assert err.value.field == f"patient.{next(iter(identity))}"


def test_identity_resent_unchanged_or_filled_in_is_an_ordinary_update() -> None:
    same = apply(bed("occupied", SEACOLE), {"patient": {"name": "Mary Seacole", "nhs_number": "943 476 5919"}})
    assert same is None
    unknown = {**SEACOLE, "nhs_number": None}
    traced = apply(bed("occupied", unknown), {"patient": {"nhs_number": "9434765919"}})
    assert traced is not None and traced.kind == "bed.updated" and traced.patient == SEACOLE


def test_admit_replaces_the_whole_record_and_keeps_nothing_of_the_previous_patient() -> None:
    change = apply(bed("occupied", SEACOLE), {"admit": True, "patient": {"name": "New Person"}})
    assert change is not None and change.kind == "patient.admitted" and change.status == "occupied"
    p = change.patient
    assert p is not None and p["name"] == "New Person" and p["initials"] == "N.P."
    assert (p["nhs_number"], p["date_of_birth"], p["consultant"], p["flags"], p["tasks"]) == (None, None, None, [], [])
    assert change.before == {"patient": SEACOLE}


# --- the bed's notes belong to the patient in it (hazard H60) ---

NOTE = "Daughter calling at 3, for CT head"


def test_a_discharge_clears_the_patients_notes_and_the_audit_keeps_them() -> None:
    change = apply(bed("occupied", SEACOLE, NOTE), {"patient": None})
    assert change is not None and change.kind == "patient.discharged" and change.notes == ""
    assert change.changes["notes"] == "" and change.before["notes"] == NOTE
    assert change.before["patient"] == SEACOLE  # one record: who left, and what was written about them


def test_a_discharge_that_sends_notes_leaves_those_on_the_bed() -> None:
    change = apply(bed("occupied", SEACOLE, NOTE), {"patient": None, "notes": "Deep clean: C. diff"})
    assert change is not None and change.notes == "Deep clean: C. diff" and change.before["notes"] == NOTE


def test_admit_replacing_the_patient_clears_their_notes_unless_the_body_sets_some() -> None:
    replaced = apply(bed("occupied", SEACOLE, NOTE), {"admit": True, "patient": {"name": "New Person"}})
    assert replaced is not None and replaced.notes == "" and replaced.before["notes"] == NOTE
    sent = apply(bed("occupied", SEACOLE, NOTE), {"admit": True, "patient": {"name": "New Person"}, "notes": "NBM"})
    assert sent is not None and sent.notes == "NBM"


@pytest.mark.parametrize("status", ["empty", "cleaning", "closed", "blocked"])
def test_notes_on_a_bed_without_a_patient_are_the_beds_and_stay(status: str) -> None:
    change = apply(bed(status, None, "Oxygen point faulty"), {"status": "empty" if status != "empty" else "closed"})
    assert change is not None and change.notes == "Oxygen point faulty" and "notes" not in change.changes


def test_an_admission_to_an_empty_bed_keeps_its_notes_unless_the_body_sets_some() -> None:
    kept = apply(bed("empty", None, "Expected admission from ED"), {"patient": {"name": "Florence Nightingale"}})
    assert kept is not None and kept.kind == "patient.admitted" and kept.notes == "Expected admission from ED"
    assert "notes" not in kept.changes
    sent = apply(bed("empty", None, "Expected admission from ED"), {"patient": {"name": "F N"}, "notes": "NBM"})
    assert sent is not None and sent.changes["notes"] == "NBM"


def test_updates_to_the_patient_on_the_bed_keep_the_notes() -> None:
    change = apply(bed("occupied", SEACOLE, NOTE), {"patient": {"flags": ["falls"]}})
    assert change is not None and change.notes == NOTE and "notes" not in change.changes


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"admit": True}, "patient", "missing"),
        ({"admit": True, "patient": None}, "patient", "missing"),
        ({"admit": True, "patient": {"nhs_number": "9434765919"}}, "patient.name", "missing"),
        ({"admit": "yes", "patient": {"name": "A B"}}, "admit", "wrong_type"),
    ],
)
def test_admit_needs_a_patient_with_a_name(body: dict[str, object], field: str, code: str) -> None:
    with pytest.raises(DomainError) as err:
        parse_patch(body)
    assert (err.value.field, err.value.code) == (field, code)


# --- the similar-name warning ---


def test_similar_names_share_initials_or_a_surname() -> None:
    patients: dict[str, dict[str, object] | None] = {
        "B01": {"name": "Alice Walker", "initials": "A.W."},
        "B02": {"name": "John Smith", "initials": "J.S."},
        "B03": {"name": "Peter Jones", "initials": "P.J."},
        "B04": None,
        "B18": {"name": "Arthur Wells", "initials": "A.W."},
        "B20": {"name": "Sarah Jones", "initials": "S.J."},
    }
    assert similar_names(patients) == {"B01", "B18", "B03", "B20"}
    patients["B18"] = None  # discharged: B01 is no longer alike anyone
    assert similar_names(patients) == {"B03", "B20"}
    assert similar_names({"B01": {"name": "peter jones"}, "B02": {"name": "Ann JONES"}}) == {"B01", "B02"}
    assert similar_names({"B01": {"name": "Alice Walker"}}) == set()
