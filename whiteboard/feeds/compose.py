"""Writing ADT messages, as a PAS would: for the demo stream and the tests (the board only receives them)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Person:
    """Who a message is about (synthetic in the demo and the tests)."""

    family: str
    given: str
    nhs_number: str = ""
    born: str = ""  # YYYYMMDD
    sex: str = "U"
    mrn: str = ""


def _pid(p: Person, set_id: int = 1) -> str:
    ids = [f"{p.nhs_number}^^^NHS^NH"] if p.nhs_number else []
    if p.mrn:
        ids.append(f"{p.mrn}^^^RXH^MR")
    return f"PID|{set_id}||{'~'.join(ids)}||{p.family.upper()}^{p.given.upper()}||{p.born}|{p.sex}"


def _pv1(location: str, prior: str = "", consultant: str = "", admitted: str = "", visit: str = "") -> str:
    fields = ["PV1", "1", "I", location] + [""] * 41  # PV1-1 … PV1-44
    fields[6] = prior
    fields[7] = consultant
    fields[19] = visit
    fields[44] = admitted
    return "|".join(fields).rstrip("|")


def adt(
    event: str,
    control_id: str,
    person: Person | None,
    location: str = "",
    *,
    prior: str = "",
    consultant: str = "",
    second: tuple[Person, str] | None = None,
    npu: tuple[str, str] | None = None,
    accept_ack: str = "",
    app_ack: str = "",
    version: str = "2.5.1",
    facility: str = "RXH",
    at: dt.datetime | None = None,
) -> str:
    """One ADT^`event` message, segments joined by CR (as on the wire)."""
    when = (at or dt.datetime.now(dt.UTC)).strftime("%Y%m%d%H%M%S")
    structure = {"A02": "ADT_A02", "A17": "ADT_A17", "A20": "ADT_A20", "A21": "ADT_A21"}.get(event, "ADT_A01")
    msh = f"MSH|^~\\&|PAS|{facility}|WHITEBOARD|{facility}|{when}||ADT^{event}^{structure}|{control_id}|P|{version}"
    if accept_ack or app_ack:
        msh += f"|||{accept_ack}|{app_ack}"
    segments = [msh, f"EVN|{event}|{when}"]
    if person is not None:
        segments += [_pid(person), _pv1(location, prior, consultant, when if event == "A01" else "")]
    if second is not None:
        segments += [_pid(second[0], 2), _pv1(second[1])]
    if npu is not None:
        segments.append(f"NPU|{npu[0]}|{npu[1]}")
    return "\r".join(segments) + "\r"


# A full NEWS2 set as OBX rows (value type, LOINC code, text, value, units): what a vital-signs monitor sends.
VITALS: tuple[tuple[str, str, str, str, str], ...] = (
    ("NM", "9279-1", "Respiratory rate", "18", "/min"),
    ("NM", "59408-5", "SpO2 by pulse oximetry", "97", "%"),
    ("NM", "3151-8", "Inhaled oxygen flow rate", "0", "L/min"),
    ("NM", "8480-6", "Systolic blood pressure", "120", "mm[Hg]"),
    ("NM", "8867-4", "Heart rate", "72", "/min"),
    ("CWE", "80288-4", "Level of consciousness", "A^Alert^ACVPU", ""),
    ("NM", "8310-5", "Body temperature", "37.0", "Cel"),
)


def oru(
    control_id: str,
    person: Person,
    location: str,
    results: tuple[tuple[str, str, str, str, str], ...] = VITALS,
    *,
    status: str = "F",
    facility: str = "RXH",
    at: dt.datetime | None = None,
) -> str:
    """One ORU^R01 of vital signs (one OBX per reading, LOINC in OBX-3), segments joined by CR."""
    when = (at or dt.datetime.now(dt.UTC)).strftime("%Y%m%d%H%M%S+0000")
    msh = f"MSH|^~\\&|OBS|{facility}|WHITEBOARD|{facility}|{when}||ORU^R01^ORU_R01|{control_id}|P|2.5.1"
    segments = [msh, _pid(person), _pv1(location), f"OBR|1|||85353-1^Vital signs panel^LN|||{when}"]
    for n, (kind, code, text, value, units) in enumerate(results, start=1):
        segments.append(f"OBX|{n}|{kind}|{code}^{text}^LN||{value}|{units}|||||{status}|||{when}")
    return "\r".join(segments) + "\r"
