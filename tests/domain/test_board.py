"""The in-memory ward view on its own: events apply in order and once (the similar-name warning moves on every bed
they name), the ETag names the position, snapshots are filtered per audience and cached until the ward moves on."""

from __future__ import annotations

import orjson

from whiteboard.domain import redact
from whiteboard.domain.board import WardState, WardView
from whiteboard.types import JSONDict

UID = "0123456789abcdef"


def bed(bed_id: str, **fields: object) -> JSONDict:
    """A bed as the store loads it."""
    return {"id": bed_id, "bay": "Bay 1", "status": "empty", "notes": "", "patient": None, "updated_at": None,
            "version": 0, "similar_name": False, **fields}  # fmt: skip


ALICE = {"name": "Alice Walker", "initials": "A.W.", "nhs_number": "9434765919", "named_nurse": "RN K", "age": 80}


def view(*beds: JSONDict, seq: int = 3, display_fields: frozenset[str] | None = None) -> WardView:
    return WardView(WardState("w", UID, "Ward W", seq, display_fields, list(beds)), "epoch-1")


def notes(seq: int, bed_id: str, text: str) -> JSONDict:
    return {"kind": "bed.updated", "ward": "w", "bed": bed_id, "at": "t", "by": "RN K",
            "changes": {"notes": text, "version": seq}}  # fmt: skip


def test_events_apply_in_order_and_a_replayed_one_is_ignored() -> None:
    v = view(bed("B1"), bed("B2"))
    assert v.apply(4, notes(4, "B1", "four"))
    assert not v.apply(4, notes(4, "B1", "again"))  # a duplicate from a replay
    assert not v.apply(2, notes(2, "B2", "old"))
    assert (v.seq, v.offset) == (4, "4-0")
    assert v.beds["B1"]["notes"] == "four" and v.beds["B2"]["notes"] == ""


def test_an_event_for_a_bed_it_does_not_hold_still_moves_the_position() -> None:
    v = view(bed("B1"))
    assert v.apply(4, notes(4, "B9", "elsewhere"))
    assert v.seq == 4 and set(v.beds) == {"B1"}


def test_the_etag_names_the_position_and_the_ward_incarnation() -> None:
    v = view(bed("B1"))
    before = v.etag
    assert before == '"3.01234567"'
    v.apply(4, notes(4, "B1", "x"))
    assert v.etag == '"4.01234567"' != before


def test_a_display_snapshot_holds_no_identifier_and_a_staff_one_everything() -> None:
    v = view(bed("B1", status="occupied", patient=ALICE, notes="family at 3"))
    staff = v.snapshot(v.audience_for("nurse"))
    board = v.snapshot(v.audience_for("display"))
    assert staff["beds"][0]["patient"]["name"] == "Alice Walker" and staff["beds"][0]["notes"] == "family at 3"
    text = orjson.dumps(board).decode()
    assert "Alice" not in text and "9434765919" not in text and "family" not in text
    assert board["beds"][0]["patient"]["initials"] == "A.W."
    assert (board["epoch"], board["offset"], board["ward"]) == ("epoch-1", "3-0", {"id": "w", "name": "Ward W"})


def test_the_snapshot_bytes_are_cached_until_the_ward_moves_on() -> None:
    v = view(bed("B1"))
    staff = v.audience_for("nurse")
    first = v.snapshot_bytes(staff)
    assert v.snapshot_bytes(staff) is first
    v.apply(4, notes(4, "B1", "moved"))
    second = v.snapshot_bytes(staff)
    assert second is not first and orjson.loads(second)["offset"] == "4-0"


def test_a_new_display_profile_applies_at_once_to_the_next_snapshot() -> None:
    v = view(bed("B1", status="occupied", patient=ALICE))
    board = v.audience_for("display")
    assert "age" not in orjson.loads(v.snapshot_bytes(board))["beds"][0]["patient"]
    profile = {"kind": "ward.display_profile", "ward": "w", "bed": None, "at": "t", "by": "admin",
               "changes": {"display_fields": ["initials", "age"]}}  # fmt: skip
    assert v.apply(4, profile)
    board = v.audience_for("display")
    assert orjson.loads(v.snapshot_bytes(board))["beds"][0]["patient"] == {"initials": "A.W.", "age": 80}
    assert v.audience_for("display").display_fields == frozenset({"initials", "age"})
    assert v.audience_for("nurse") is redact.STAFF


def test_a_profile_can_never_show_an_identifier() -> None:
    v = view(bed("B1", status="occupied", patient=ALICE), display_fields=frozenset({"name", "nhs_number", "age"}))
    assert v.snapshot(v.audience_for("display"))["beds"][0]["patient"] == {"age": 80}


def test_reset_starts_again_from_a_fresh_state() -> None:
    v = view(bed("B1"))
    v.apply(4, notes(4, "B1", "x"))
    v.reset(WardState("w", UID, "Ward W", 9, None, [bed("B1", notes="reloaded")]), "epoch-2")
    assert (v.seq, v.epoch, v.beds["B1"]["notes"]) == (9, "epoch-2", "reloaded")
    assert orjson.loads(v.snapshot_bytes(v.audience_for("nurse")))["epoch"] == "epoch-2"


def test_an_event_moves_the_similar_name_warning_on_other_beds_too() -> None:
    beds = [bed(b) for b in ("B1", "B2", "B3")]
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
