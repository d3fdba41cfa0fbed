"""The ward's rules, as pure functions."""

from __future__ import annotations

import datetime as dt

import pytest

from whiteboard import domain
from whiteboard.errors import DomainError

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def bed(status: str = "empty", patient: dict[str, object] | None = None, notes: str = "") -> dict[str, object]:
    return {"status": status, "notes": notes, "patient": patient}


def apply(b: dict[str, object], body: dict[str, object]) -> domain.BedChange | None:
    return domain.apply_patch(b, domain.parse_patch(body), NOW)


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
    assert domain.nhs_number_valid("9434765919")
    assert not domain.nhs_number_valid("9434765918")
    assert domain.parse_patch({"patient": {"nhs_number": "943 476 5919"}}).patient["nhs_number"] == "9434765919"


def test_tasks_are_validated_and_numbered() -> None:
    patch = domain.parse_patch({"patient": {"tasks": [{"text": "Bloods"}, {"kind": "tto", "done": True}]}})
    assert patch.patient["tasks"] == [
        {"id": "t1", "kind": "other", "text": "Bloods", "done": False},
        {"id": "t2", "kind": "tto", "text": "", "done": True},
    ]
    with pytest.raises(DomainError, match="used twice"):
        domain.parse_patch({"patient": {"tasks": [{"id": "a"}, {"id": "a"}]}})
    with pytest.raises(DomainError) as err:
        domain.parse_patch({"patient": {"tasks": [{"text": "x", "colour": 1}]}})
    assert err.value.field == "patient.tasks[0].colour"


def test_news2_from_a_bare_score() -> None:
    patch = domain.parse_patch({"patient": {"news2": {"score": 6, "red_score": False}}})
    assert patch.patient["news2"]["risk"] == "medium" and patch.patient["news2"]["monitoring"] == "hourly"
    with pytest.raises(DomainError):
        domain.parse_patch({"patient": {"news2": {"score": 2, "red_score": True}}})
    with pytest.raises(DomainError):
        domain.parse_patch({"patient": {"news2": {"score": 21}}})


def test_observation_only_updates_need_a_patient() -> None:
    patch = domain.BedPatch(None, None, {"news2": None}, existing_patient_only=True)
    with pytest.raises(DomainError) as err:
        domain.apply_patch(bed(), patch, NOW)
    assert err.value.code == "no_patient"


def test_display_profile_parsing() -> None:
    assert domain.parse_display_profile({"fields": None}).fields is None
    assert domain.parse_display_profile({"fields": ["initials"]}).fields == frozenset({"initials"})
    for bad in ({"fields": ["nhs_number"]}, {"fields": ["favourite_colour"]}, {"fields": "initials"}, {}):
        with pytest.raises(DomainError):
            domain.parse_display_profile(bad)
