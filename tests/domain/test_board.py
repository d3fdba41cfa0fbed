"""The in-memory ward view: events move the similar-name warning on every bed they name."""

from __future__ import annotations

from whiteboard.domain.beds import blank_bed
from whiteboard.domain.board import WardView
from whiteboard.store import WardState


def test_an_event_moves_the_similar_name_warning_on_other_beds_too() -> None:
    beds = [blank_bed(b, "Bay 1") for b in ("B1", "B2", "B3")]
    beds[0].update(status="occupied", patient={"name": "Alice Walker", "initials": "A.W."}, similar_name=True)
    beds[2].update(status="occupied", patient={"name": "Arthur Wells", "initials": "A.W."}, similar_name=True)
    view = WardView(WardState("w", "u" * 8, "W", 3, None, beds), "epoch")
    discharge = {
        "kind": "patient.discharged", "ward": "w", "bed": "B3", "at": "t", "by": "RN K",
        "changes": {"patient": None, "status": "cleaning", "version": 4}, "similar_name": {"B1": False, "B3": False},
    }  # fmt: skip
    assert view.apply(4, discharge)
    assert {b["id"]: b["similar_name"] for b in view.beds.values()} == {"B1": False, "B2": False, "B3": False}
    assert view.beds["B3"]["version"] == 4 and view.beds["B1"]["version"] == 0
