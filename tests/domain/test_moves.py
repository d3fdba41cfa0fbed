"""Moves on their own: what a transfer and a swap do to two beds, what they refuse, and how a move within
one ward (one event, the second bed in `also`) applies to a ward view and passes the privacy filter."""

from __future__ import annotations

import pytest

from whiteboard.domain import moves, redact
from whiteboard.domain.board import WardState, WardView
from whiteboard.errors import Conflict, DomainError
from whiteboard.types import JSONDict

ADA: JSONDict = {"name": "Ada Lovelace", "initials": "A.L.", "nhs_number": "9434765919", "news2": None, "flags": []}
MARY: JSONDict = {"name": "Mary Seacole", "initials": "M.S.", "nhs_number": "9876543210", "flags": ["falls"]}


def bed(status: str = "empty", patient: JSONDict | None = None, notes: str = "") -> JSONDict:
    return {"status": status, "notes": notes, "patient": patient}


def test_a_transfer_moves_the_whole_record_and_leaves_the_bed_to_be_cleaned() -> None:
    out, into = moves.transfer(bed("occupied", ADA), bed())
    assert (out.status, out.patient) == ("cleaning", None)
    assert out.changes == {"status": "cleaning", "patient": None}
    assert out.before == {"status": "occupied", "patient": ADA}
    assert (into.status, into.patient) == ("occupied", ADA)
    assert into.changes == {"status": "occupied", "patient": ADA}
    assert into.before == {"status": "empty", "patient": None}


def test_a_transfer_takes_the_notes_with_the_patient_and_the_bed_left_has_none() -> None:
    """Hazard H60: the notes are about the patient, so the next one in the bed left never sees them."""
    out, into = moves.transfer(bed("occupied", ADA, "Daughter calling at 3"), bed("empty", None, "Held for AMU"))
    assert (out.notes, out.changes["notes"], out.before["notes"]) == ("", "", "Daughter calling at 3")
    assert (into.notes, into.changes["notes"]) == ("Daughter calling at 3", "Daughter calling at 3")
    assert into.before["notes"] == "Held for AMU"  # the empty bed's own note: replaced, and kept in the audit
    back_out, back_in = moves.transfer(
        bed("occupied", ADA, into.notes), bed("cleaning", None, "Deep clean"), returning=True
    )  # a cancelled transfer (A12): back to the bed left, notes and all
    assert (back_out.notes, back_in.notes, back_in.patient) == ("", "Daughter calling at 3", ADA)


def test_a_transfer_without_notes_clears_the_target_beds_note() -> None:
    out, into = moves.transfer(bed("occupied", ADA), bed("empty", None, "Expected admission from ED"))
    assert "notes" not in out.changes and into.notes == "" and into.before["notes"] == "Expected admission from ED"


@pytest.mark.parametrize(
    ("source", "target", "error", "code"),
    [
        (bed("occupied", ADA), bed("occupied", MARY), Conflict, "bed_occupied"),
        (bed("occupied", ADA), bed("cleaning"), Conflict, "bed_not_ready"),
        (bed("occupied", ADA), bed("closed"), Conflict, "bed_not_ready"),
        (bed("occupied", ADA), bed("blocked"), Conflict, "bed_not_ready"),
        (bed(), bed(), DomainError, "no_patient"),
    ],
)
def test_a_transfer_needs_a_patient_and_an_empty_bed(
    source: JSONDict, target: JSONDict, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as refused:
        moves.transfer(source, target)
    assert refused.value.code == code  # type: ignore[attr-defined]


def test_a_swap_exchanges_patients_and_needs_two() -> None:
    first, second = moves.swap(bed("occupied", ADA), bed("occupied", MARY))
    assert (first.patient, second.patient) == (MARY, ADA)
    assert first.changes == {"patient": MARY} and second.before == {"patient": MARY}
    first, second = moves.swap(bed("occupied", ADA, "Ada: NBM"), bed("occupied", MARY, "Mary: deaf left"))
    assert (first.notes, second.notes) == ("Mary: deaf left", "Ada: NBM")
    assert first.changes == {"patient": MARY, "notes": "Mary: deaf left"} and first.before["notes"] == "Ada: NBM"
    for pair in [(bed(), bed("occupied", MARY)), (bed("occupied", ADA), bed())]:
        with pytest.raises(DomainError):
            moves.swap(*pair)


def test_one_event_moves_a_patient_within_the_ward_view() -> None:
    beds: list[JSONDict] = [
        {"id": b, "bay": "Bay 1", "status": s, "notes": "", "patient": p, "version": 1}
        for b, s, p in (("B1", "occupied", ADA), ("B2", "empty", None))
    ]
    note = beds[0]["notes"] = "Ada's son rings at 6"
    view = WardView(WardState("w", "u" * 16, "W", 1, None, beds), "e")
    event = {"kind": "patient.transferred", "ward": "w", "bed": "B1", "at": "t",
             "changes": {"status": "cleaning", "patient": None, "notes": "", "version": 2},
             "also": {"B2": {"status": "occupied", "patient": ADA, "notes": note, "version": 2}}}  # fmt: skip
    assert view.apply(2, event)
    assert view.beds["B1"]["patient"] is None and view.beds["B2"]["patient"] == ADA
    assert (view.beds["B1"]["notes"], view.beds["B2"]["notes"]) == ("", note)
    assert view.beds["B2"]["version"] == 2
    shown = redact.event(event, redact.display_audience(None))
    assert shown["also"]["B2"]["patient"]["initials"] == "A.L."
    assert "notes" not in shown["changes"] and "notes" not in shown["also"]["B2"]
    assert "Lovelace" not in str(shown) and "9434765919" not in str(shown) and "son rings" not in str(shown)
