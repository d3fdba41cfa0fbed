"""The HL7 v2 ADT messages the MLLP feed user sends, built from the board's own records (no Locust here).

Messages are `whiteboard.feeds.compose.adt` (the demo PAS's and the tests' builder: pure text, no server
state). PV1-3 is `ward^^bed` with the board's ids, which a server without a location map accepts as they are.
"""

from __future__ import annotations

from typing import Any

from whiteboard.feeds.compose import Person, adt

FACILITY = "LOADTEST"  # MSH-4/MSH-6 (a deployment with WHITEBOARD_MLLP_SENDERS must list it)
Bed = tuple[str, dict[str, Any]]  # (ward id, the bed as GET /api/wards/{ward} returns it)


def person(record: dict[str, Any]) -> Person:
    """A board patient record (or a new one) as PID fields: NHS number, name, date of birth, sex."""
    given, _, family = str(record.get("name") or "").rpartition(" ")
    born = str(record.get("date_of_birth") or "").replace("-", "")
    nhs, sex = str(record.get("nhs_number") or ""), str(record.get("sex") or "U")
    return Person(family or given, given or family, nhs, born, sex)


def consultant(name: str) -> str:
    """PV1-7 (XCN: id ^ family ^ given ^^^ prefix) for "Dr Rao"; the board reads it back as "Dr Rao"."""
    prefix, _, family = name.rpartition(" ")
    return f"^{family.upper()}^^^^{prefix.upper()}"


def place(ward: str, bed: dict[str, Any]) -> str:
    return f"{ward}^^{bed['id']}"


def message(event: str, control_id: str, source: Bed | None, target: Bed | None, *, new: dict[str, Any] | None = None,
            doctor: str = "") -> str | None:  # fmt: skip
    """A01 (`new` patient into `target`), A02 (`source`'s patient to `target`), A03 / A08 (`source`'s
    patient; A08 with a consultant change); None when the beds the event needs are missing."""
    if event == "A01" and target and new is not None:
        return adt("A01", control_id, person(new), place(*target), consultant=doctor, facility=FACILITY)
    if event in ("A03", "A08") and source:
        who, where = person(source[1]["patient"]), place(*source)
        return adt(event, control_id, who, where, consultant=doctor if event == "A08" else "", facility=FACILITY)
    if event == "A02" and source and target:
        who = person(source[1]["patient"])
        return adt("A02", control_id, who, place(*target), prior=place(*source), facility=FACILITY)
    return None
