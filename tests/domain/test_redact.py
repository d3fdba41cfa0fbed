"""The one privacy filter: identifiers never reach a display, whatever its profile says."""

from __future__ import annotations

from typing import Any

from whiteboard.domain import redact

PATIENT = {
    "name": "Mary Seacole",
    "initials": "M.S.",
    "nhs_number": "9434765919",
    "date_of_birth": "1935-03-14",
    "age": 91,
    "named_nurse": "RN K",
    "flags": ["falls", "dnacpr"],
    "tasks": [{"id": "t1", "kind": "bloods", "text": "FBC", "done": False}, {"id": "t2", "text": "x", "done": True}],
    "news2": {"score": 3},
    "edd": "2026-11-25",
}
BED = {"id": "B1", "bay": "Bay 1", "status": "occupied", "notes": "Daughter visiting", "patient": PATIENT}


def test_staff_see_everything_unchanged() -> None:
    assert redact.bed(BED, redact.STAFF) is BED


def test_default_display_profile_is_the_safe_minimum() -> None:
    shown = redact.bed(BED, redact.display_audience(None))
    assert "notes" not in shown
    p = shown["patient"]
    assert set(p) <= redact.DEFAULT_DISPLAY_FIELDS
    assert p["initials"] == "M.S." and p["flags"] == ["falls"] and p["tasks_pending"] == 1
    for key in ("name", "nhs_number", "date_of_birth", "tasks", "age"):
        assert key not in p


def test_a_profile_cannot_ask_for_identifiers() -> None:
    audience = redact.display_audience(frozenset({"name", "nhs_number", "date_of_birth", "tasks", "age", "initials"}))
    assert audience.display_fields == frozenset({"age", "initials"})
    assert redact.patient(PATIENT, audience) == {"age": 91, "initials": "M.S."}


def test_events_are_filtered_like_snapshots() -> None:
    event: dict[str, Any] = {
        "kind": "bed.updated",
        "ward": "w",
        "bed": "B1",
        "changes": {"notes": "n", "patient": PATIENT},
    }
    out = redact.event(event, redact.display_audience(None))
    assert "notes" not in out["changes"] and "name" not in out["changes"]["patient"]
    assert event["changes"]["notes"] == "n"  # the stored event is untouched


def test_a_move_within_a_ward_carries_its_notes_to_staff_only() -> None:
    """Since the notes move with the patient (hazard H60), a transfer's second bed (`also`) carries them too."""
    event: dict[str, Any] = {
        "kind": "patient.transferred",
        "ward": "w",
        "bed": "B1",
        "changes": {"status": "cleaning", "notes": "", "patient": None},
        "also": {"B2": {"status": "occupied", "notes": "Daughter visiting", "patient": PATIENT}},
    }
    out = redact.event(event, redact.display_audience(None))
    assert "Daughter" not in str(out) and "Seacole" not in str(out)
    assert out["also"]["B2"]["patient"]["initials"] == "M.S." and out["also"]["B2"]["status"] == "occupied"
    assert redact.event(event, redact.STAFF)["also"]["B2"]["notes"] == "Daughter visiting"


def test_audience_keys_group_connections_for_one_encoding() -> None:
    assert redact.display_audience(None).key == redact.display_audience(None).key
    assert redact.display_audience(frozenset({"initials"})).key != redact.display_audience(None).key
    assert redact.STAFF.key == "staff"


def test_a_display_gets_the_similar_name_warning_and_bed_versions_but_no_name() -> None:
    audience = redact.display_audience(None)
    shown = redact.bed({**BED, "similar_name": True, "version": 4}, audience)
    assert shown["similar_name"] is True and shown["version"] == 4
    evt = {
        "kind": "patient.admitted", "ward": "w", "bed": "B1", "at": "t", "by": "RN K",
        "changes": {"patient": PATIENT, "version": 5}, "similar_name": {"B1": True, "B9": True},
    }  # fmt: skip
    out = redact.event(evt, audience)
    assert out["similar_name"] == {"B1": True, "B9": True} and out["changes"]["version"] == 5
    assert "Mary" not in repr(out) and "Seacole" not in repr(out)
