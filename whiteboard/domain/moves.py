"""Moving patients between beds: a transfer (HL7 A02) and a swap (A17), in one ward or across two.

Pure: no I/O. `parse_move` checks the body before the database is touched; `transfer` and `swap` judge
the move against both committed beds inside the transaction, so two nurses (or a nurse and a feed)
racing for the same empty bed are judged against what is really there: one wins, the other gets a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from whiteboard.domain.wire.refusal import refusal
from whiteboard.domain.wire.requests import BED_MOVE
from whiteboard.errors import Conflict, DomainError
from whiteboard.types import JSONDict

# What a vacated bed becomes: like a discharge, it is cleaned before the next patient.
VACATED_STATUS = "cleaning"


@dataclass(frozen=True)
class Move:
    """A validated move of the path bed's patient to (or, `swap`, with) another bed.

    `to_version`: the other bed's version as the client saw it (the path bed's is the request's If-Match).
    """

    to_ward: str
    to_bed: str
    swap: bool = False
    to_version: int | None = None
    # Feeds (HL7 A02/A12/A17): who must be on the path bed (and, for a swap, on the other), by NHS number or
    # name and date of birth; a move naming someone else is refused (`patient.check_expected`).
    expect: JSONDict | None = None
    expect_other: JSONDict | None = None
    returning: bool = False  # HL7 A12: back to the bed a cancelled transfer left (it may still be cleaning)

    @property
    def kinds(self) -> tuple[str, str]:
        """The audit actions for (the path bed, the other bed)."""
        if self.swap:
            return "patient.swapped", "patient.swapped"
        return "patient.transferred_out", "patient.transferred_in"


def parse_move(body: Any, ward_id: str, bed_id: str, *, swap: bool) -> Move:
    """`{"to_ward"?, "to_bed", "to_version"?}` (the `BedMove` model); a bed never moves onto itself (422)."""
    try:
        data = BED_MOVE.validate_python(body)
    except ValidationError as exc:
        raise refusal(exc, body) from None
    move = Move(data.get("to_ward", ward_id), data["to_bed"], swap, data.get("to_version"))
    if (move.to_ward, move.to_bed) == (ward_id, bed_id):
        raise DomainError("the patient is already in this bed: name another bed", "to_bed", "same_bed")
    return move


@dataclass(frozen=True)
class BedAfter:
    """One bed's side of a move: its new state, the changed fields' new values, and the old ones."""

    status: str
    patient: JSONDict | None
    notes: str
    changes: JSONDict
    before: JSONDict


def _after(bed: JSONDict, status: str, patient: JSONDict | None, notes: str) -> BedAfter:
    changes: JSONDict = {}
    before: JSONDict = {}
    if status != bed["status"]:
        changes["status"], before["status"] = status, bed["status"]
    if notes != bed["notes"]:
        changes["notes"], before["notes"] = notes, bed["notes"]
    if patient != bed["patient"]:
        changes["patient"], before["patient"] = patient, bed["patient"]
    return BedAfter(status, patient, notes, changes, before)


def transfer(source: JSONDict, target: JSONDict, *, returning: bool = False) -> tuple[BedAfter, BedAfter]:
    """The patient leaves `source` (which goes to cleaning) for `target`, which must be empty and free.

    `returning` (a cancelled transfer, HL7 A12): the patient goes back to the bed they left, which the transfer
    set to cleaning; that bed may be empty or still cleaning.

    The whole record moves (NEWS2, tasks, flags, DNACPR belong to the patient), and so do the bed's notes: on an
    occupied bed they are about its patient (hazard H60), so they go with them and the bed left has none. What
    the target's notes said before (it held no patient) is replaced; its audit record's `before` keeps it. A
    cancelled transfer moves the notes back the same way.
    """
    patient = source["patient"]
    if patient is None:
        raise DomainError("there is no patient on this bed to transfer", "bed", "no_patient")
    if target["patient"] is not None:
        raise Conflict(
            "the bed you chose already has a patient: choose an empty bed, or swap the two patients",
            "to_bed",
            "bed_occupied",
        )
    if target["status"] != "empty" and not (returning and target["status"] == VACATED_STATUS):
        raise Conflict(
            f"the bed you chose is {target['status']}, not empty: choose an empty bed (or make it empty first)",
            "to_bed",
            "bed_not_ready",
        )
    return _after(source, VACATED_STATUS, None, ""), _after(target, "occupied", patient, source["notes"])


def swap(first: JSONDict, second: JSONDict) -> tuple[BedAfter, BedAfter]:
    """Two patients change beds (A17): both beds must hold one, and both stay occupied; their notes go with them."""
    for bed, field in ((first, "bed"), (second, "to_bed")):
        if bed["patient"] is None:
            raise DomainError(
                "a swap needs a patient on both beds: transfer to an empty bed instead", field, "no_patient"
            )
    return (
        _after(first, "occupied", second["patient"], second["notes"]),
        _after(second, "occupied", first["patient"], first["notes"]),
    )
