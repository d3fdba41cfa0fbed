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
    changes: JSONDict
    before: JSONDict


def _after(bed: JSONDict, status: str, patient: JSONDict | None) -> BedAfter:
    changes: JSONDict = {}
    before: JSONDict = {}
    if status != bed["status"]:
        changes["status"], before["status"] = status, bed["status"]
    if patient != bed["patient"]:
        changes["patient"], before["patient"] = patient, bed["patient"]
    return BedAfter(status, patient, changes, before)


def transfer(source: JSONDict, target: JSONDict) -> tuple[BedAfter, BedAfter]:
    """The patient leaves `source` (which goes to cleaning) for `target`, which must be empty and free.

    The whole record moves (NEWS2, tasks, flags, DNACPR belong to the patient); the bed's own notes stay.
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
    if target["status"] != "empty":
        raise Conflict(
            f"the bed you chose is {target['status']}, not empty: choose an empty bed (or make it empty first)",
            "to_bed",
            "bed_not_ready",
        )
    return _after(source, VACATED_STATUS, None), _after(target, "occupied", patient)


def swap(first: JSONDict, second: JSONDict) -> tuple[BedAfter, BedAfter]:
    """Two patients change beds (A17): both beds must hold one, and both stay occupied."""
    for bed, field in ((first, "bed"), (second, "to_bed")):
        if bed["patient"] is None:
            raise DomainError(
                "a swap needs a patient on both beds: transfer to an empty bed instead", field, "no_patient"
            )
    return _after(first, "occupied", second["patient"]), _after(second, "occupied", first["patient"])
