"""What an ADT event does to the board: one message becomes one change on the write path (`Change`).

Every change is judged inside the write's transaction against the committed bed (`domain.beds`): a
discharge, update or leave names the patient who must be on the bed (`expect`), so a message for someone
else is refused and nothing is applied to whoever is there. The table is docs/FEEDS.md's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Final

from whiteboard.domain.beds import BedPatch, parse_patch
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import ObservationRecord
from whiteboard.feeds.hl7_message import AdtMessage, MessageError, Visit
from whiteboard.feeds.locations import LocationMap

LEAVE_FLAG: Final = "on_leave"
# A20 bed status (HL7 table 0116) as the bed's state; K (contaminated) blocks the bed until it is cleaned.
_EMPTY_BED_STATUS: Final = {"U": "empty", "H": "cleaning", "C": "closed", "K": "blocked"}
# I (isolated) is a flag on the patient in the bed (DOMAIN.md), not a bed state.
_PATIENT_FLAGS: Final = {"I": "isolation"}
HANDLED: Final = ("A01", "A02", "A03", "A08", "A11", "A12", "A13", "A17", "A20", "A21", "A22")


class Unsupported(ValueError):
    """An event the board does not act on (answered AR, HL7 error 201)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One write: on `ward`/`bed`, the `patch` (a bed patch, a move to another bed, or a charted set: ORU^R01)."""

    ward: str
    bed: str
    patch: BedPatch | Move | ObservationRecord
    summary: str  # for the log
    # Cancels before their event (hazard H26): `key` names this event, `undoes` the event a cancel undoes.
    key: str | None = None
    undoes: str | None = None
    admits: str | None = None  # the NHS number an admission puts in this bed (one bed per patient)


def plan(msg: AdtMessage, locations: LocationMap) -> Change:
    """The change a message asks for; MessageError / LocationError / DomainError / Unsupported say why not."""
    event = msg.event
    if event == "A20":
        return _bed_status(msg, locations)
    if event not in HANDLED:
        raise Unsupported(f"event {event or '(none)'} is not handled; the board acts on {', '.join(HANDLED)}")
    if not msg.visits:
        raise MessageError(f"{event} needs a PID segment followed by a PV1 segment")
    visit = msg.visits[0]
    if event in ("A02", "A12"):
        # A02: from PV1-6 (prior) to PV1-3. A12 cancels a transfer: PV1-3 is where the patient returns to,
        # PV1-6 the bed the cancelled transfer had put them in (HL7 v2 3.3.12).
        source = locations.resolve(visit.prior, "PV1-6")
        target = locations.resolve(visit.location)
        who = identity(visit)
        move = transfer_patch(source, target, who, swap=False, returning=event == "A12")
        if event == "A02":
            return Change(*source, move, f"A02 {source}→{target}", key=_key("A02", who, source, target))
        return Change(*source, move, f"A12 {source}→{target}", undoes=_key("A02", who, target, source))
    if event == "A17":
        if len(msg.visits) < 2:
            raise MessageError("A17 (swap) needs two PID/PV1 pairs")
        # Each PV1-3 is the patient's location before the swap (HL7 v2 3.3.17): the two beds trade patients.
        one, two = (locations.resolve(v.location) for v in msg.visits[:2])
        swap = transfer_patch(one, two, identity(visit), swap=True, other=identity(msg.visits[1]))
        return Change(*one, swap, f"A17 {one}⇄{two}")
    ward, bed = locations.resolve(visit.location)
    expect = identity(visit)
    if event in ("A01", "A13"):  # A13 cancels a discharge: the patient is back on the bed
        if "name" not in visit.patient:
            raise MessageError(f"{event} needs the patient's name (PID-5)")
        admit = parse_patch({"status": "occupied", "patient": visit.patient})
        nhs = visit.patient.get("nhs_number")
        if event == "A01":
            return Change(ward, bed, admit, "A01 admit", key=_key("A01", expect, (ward, bed)), admits=nhs)
        return Change(ward, bed, admit, "A13 cancel discharge", undoes=_key("A03", expect, (ward, bed)), admits=nhs)
    if event == "A03":
        patch = dataclasses.replace(parse_patch({"patient": None}), expect=expect)
        return Change(ward, bed, patch, "A03 discharge", key=_key("A03", expect, (ward, bed)))
    if event == "A11":  # cancel admit: the admission never happened, so the bed is empty (not cleaning)
        patch = dataclasses.replace(parse_patch({"patient": None, "status": "empty"}), expect=expect)
        return Change(ward, bed, patch, "A11 cancel admit", undoes=_key("A01", expect, (ward, bed)))
    if event == "A08":
        fields = {k: v for k, v in visit.patient.items() if k != "admitted_at"}
        if not fields:
            raise MessageError("A08 carries no patient fields the board shows")
        patch = dataclasses.replace(parse_patch({"patient": fields}), expect=expect, existing_patient_only=True)
        return Change(ward, bed, patch, "A08 update")
    base = dataclasses.replace(_noop_patient_patch(), expect=expect)
    if event == "A21":
        return Change(ward, bed, dataclasses.replace(base, add_flags=(LEAVE_FLAG,)), "A21 leave out")
    return Change(ward, bed, dataclasses.replace(base, remove_flags=(LEAVE_FLAG,)), "A22 leave return")


def _key(event: str, who: dict[str, Any], *beds: tuple[str, str]) -> str:
    """What names one event for the cancel that undoes it: the event, its bed(s) and the patient."""
    places = "|".join(f"{w}/{b}" for w, b in beds)
    person = "|".join(f"{k}={who[k]}" for k in sorted(who))
    return f"{event}|{places}|{person}"[:600]


def _noop_patient_patch() -> BedPatch:
    """A patch that only works on the patient already on the bed (flags added to it by the caller)."""
    return BedPatch(status=None, notes=None, patient={}, existing_patient_only=True)


def identity(visit: Visit) -> dict[str, Any]:
    """Who the message is about: the NHS number when it carries one (names get corrected), else name and
    date of birth. A message naming nobody cannot be checked against the bed, so it is refused."""
    p = visit.patient
    if p.get("nhs_number"):
        return {"nhs_number": p["nhs_number"]}
    who = {k: p[k] for k in ("name", "date_of_birth") if p.get(k)}
    if not who:
        raise MessageError("PID names no patient (PID-3 NHS number, or PID-5 name)")
    return who


def _bed_status(msg: AdtMessage, locations: LocationMap) -> Change:
    if msg.bed_status is None:
        raise MessageError("A20 needs an NPU segment (bed location and status)")
    where, code = msg.bed_status
    ward, bed = locations.resolve(where, "NPU-1")
    if code in _PATIENT_FLAGS:
        patch = dataclasses.replace(_noop_patient_patch(), add_flags=(_PATIENT_FLAGS[code],))
        return Change(ward, bed, patch, f"A20 {code}")
    if code == "O":
        raise MessageError("NPU-2 O (occupied) without a patient: admit the patient with A01 instead")
    status = _EMPTY_BED_STATUS.get(code)
    if status is None:
        raise MessageError(f"NPU-2 {code or '(empty)'} is not a bed status of HL7 table 0116 (C H I K O U)")
    return Change(ward, bed, parse_patch({"status": status}), f"A20 {code}")


def transfer_patch(
    source: tuple[str, str],
    target: tuple[str, str],
    expect: dict[str, Any],
    *,
    swap: bool,
    other: dict[str, Any] | None = None,
    returning: bool = False,
) -> Move:
    """A move of the patient on `source` to `target` (or a swap), only if `expect` names who is on `source`."""
    if source == target:
        raise MessageError(f"the message names bed {target[1]} of {target[0]} as both where the patient was and is")
    return Move(target[0], target[1], swap=swap, expect=expect, expect_other=other, returning=returning)
