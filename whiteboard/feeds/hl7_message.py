"""An HL7 v2 ADT message, read with python-hl7, as the few typed facts the board needs.

python-hl7 does the HL7 (separators from MSH-1/MSH-2, repetitions, components, escapes); this module only
picks fields: the header (who sent it, its control id, acknowledgement modes), each patient (PID) with their
visit (PV1: assigned and prior location, consultant, admit time) and, for A20, the bed status (NPU).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

import hl7  # type: ignore[import-untyped]

SUPPORTED_VERSIONS: Final = re.compile(r"^2\.[1-9](\.\d+)?$")
_TS: Final = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$")
_SEX: Final = {"F": "F", "M": "M", "U": "U", "O": "X", "A": "X", "N": "U", "X": "X"}


@dataclass(frozen=True, slots=True)
class Result:
    """One OBX segment: a coded reading (ORU^R01), as sent; `feeds.observations` judges it."""

    index: int  # the OBX's position among the message's OBX segments (1-based), for the ACK's reason
    code: str  # OBX-3.1
    system: str  # OBX-3.3 (LN: LOINC)
    value_type: str  # OBX-2 (NM, CE, CWE, ST …)
    value: str  # OBX-5.1: the number, or the coded answer's code
    value_text: str  # OBX-5.2: a coded answer's text
    units: str  # OBX-6.1
    status: str  # OBX-11 (F final, C corrected …)
    observed: str  # OBX-14, as sent


class MessageError(ValueError):
    """The message cannot be read (no MSH, wrong shape, a field that is not what it must be)."""


@dataclass(frozen=True, slots=True)
class Location:
    """PV1-3 / PV1-6 / NPU-1: point of care ^ room ^ bed (HL7 data type PL)."""

    point_of_care: str
    room: str
    bed: str

    def __str__(self) -> str:
        return f"{self.point_of_care}^{self.room}^{self.bed}"


@dataclass(frozen=True, slots=True)
class Visit:
    """One PID with its PV1: the patient's fields as the board keeps them, and where they are."""

    patient: dict[str, Any]
    location: Location | None
    prior: Location | None
    visit_number: str


@dataclass(frozen=True, slots=True)
class AdtMessage:
    event: str  # A01 … (MSH-9.2, or EVN-1 in old versions)
    structure: str  # MSH-9 as sent
    control_id: str  # MSH-10
    sending_app: str
    sending_facility: str
    receiving_app: str
    receiving_facility: str
    processing_id: str
    version: str
    accept_ack: str  # MSH-15: AL NE ER SU, or "" (original mode)
    app_ack: str  # MSH-16
    visits: tuple[Visit, ...] = ()
    bed_status: tuple[Location, str] | None = None  # A20: NPU-1, NPU-2
    recorded: dt.datetime | None = None  # when the event happened: EVN-2, else MSH-7 (None if unreadable)
    results: tuple[Result, ...] = ()  # ORU^R01: the OBX segments
    raw: Any = field(default=None, repr=False, compare=False)  # the python-hl7 message (ACKs copy its MSH)

    @property
    def enhanced(self) -> bool:
        """Enhanced acknowledgement mode: MSH-15 or MSH-16 is valued (HL7 v2 2.9.2)."""
        return bool(self.accept_ack or self.app_ack)

    @property
    def sender(self) -> str:
        return f"{self.sending_app}|{self.sending_facility}"


def parse(text: str, zone: ZoneInfo) -> AdtMessage:
    """Read one message; `zone` is what a time without an offset is in (the wards' time zone)."""
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH") or len(text) < 8:
        raise MessageError("the message does not start with an MSH segment")
    try:
        msg = hl7.parse(text)
        msh = msg.segment("MSH")
    except Exception as exc:  # python-hl7 raises several kinds on malformed input
        raise MessageError(f"the message cannot be parsed as HL7 v2: {exc}") from None

    def get(seg: Any, *path: int) -> str:
        return _field(msg, seg, *path)

    event = get(msh, 9, 1, 2) or _first(msg, "EVN", 1)
    control_id = get(msh, 10)
    if not control_id:
        raise MessageError("MSH-10 (message control id) is empty")
    visits = tuple(_visit(msg, pid, pv1, zone) for pid, pv1 in _pairs(msg))
    return AdtMessage(
        event=event.upper(),
        structure=str(msh[9]) if len(msh) > 9 else "",
        control_id=control_id[:199],
        sending_app=get(msh, 3, 1, 1),
        sending_facility=get(msh, 4, 1, 1),
        receiving_app=get(msh, 5, 1, 1),
        receiving_facility=get(msh, 6, 1, 1),
        processing_id=get(msh, 11, 1, 1),
        version=get(msh, 12, 1, 1),
        accept_ack=get(msh, 15).upper(),
        app_ack=get(msh, 16).upper(),
        visits=visits,
        bed_status=_npu(msg),
        recorded=_recorded(_first(msg, "EVN", 2) or get(msh, 7), zone),
        results=_results(msg),
        raw=msg,
    )


def _field(msg: Any, seg: Any, fld: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    """One (sub)component as text, '' when absent; python-hl7 unescapes it (`msg` keeps call sites uniform)."""
    if fld >= len(seg):
        return ""
    try:
        return str(seg.extract_field(1, fld, rep, comp, sub))
    except (IndexError, KeyError, TypeError, ValueError):
        return ""


def _first(msg: Any, name: str, fld: int) -> str:
    try:
        return str(msg.extract_field(name, 1, fld, 1, 1, 1))
    except (KeyError, IndexError):
        return ""


def _pairs(msg: Any) -> list[tuple[Any, Any]]:
    """Each PID with the PV1 that follows it (A17 carries two pairs)."""
    pairs: list[tuple[Any, Any]] = []
    pid: Any = None
    for seg in msg:
        name = str(seg[0])
        if name == "PID":
            pid = seg
        elif name == "PV1" and pid is not None:
            pairs.append((pid, seg))
            pid = None
    return pairs


def _location(msg: Any, seg: Any, fld: int) -> Location | None:
    poc, room, bed = (_field(msg, seg, fld, 1, c) for c in (1, 2, 3))
    if not (poc or room or bed):
        return None
    return Location(poc, room, bed)


def _visit(msg: Any, pid: Any, pv1: Any, zone: ZoneInfo) -> Visit:
    patient: dict[str, Any] = {}
    family, given = _field(msg, pid, 5, 1, 1), _field(msg, pid, 5, 1, 2)
    name = " ".join(p.title() if p.isupper() else p for p in (given, family) if p)
    if name:
        patient["name"] = name
    for rep in range(1, 10):
        ident = _field(msg, pid, 3, rep, 1)
        if not ident and rep > 1:
            break
        kind, authority = _field(msg, pid, 3, rep, 5).upper(), _field(msg, pid, 3, rep, 4).upper()
        if ident and (kind == "NH" or authority.startswith("NHS")):
            patient["nhs_number"] = ident.replace(" ", "")
            break
    dob = _field(msg, pid, 7)
    if dob:
        patient["date_of_birth"] = _date(dob, "PID-7")
        patient["age"] = _age(dt.date.fromisoformat(patient["date_of_birth"]), dt.datetime.now(zone).date())
    sex = _field(msg, pid, 8).upper()
    if sex:
        patient["sex"] = _SEX.get(sex, "U")
    doctor = " ".join(p for p in (_field(msg, pv1, 7, 1, 6), _field(msg, pv1, 7, 1, 3), _field(msg, pv1, 7, 1, 2)) if p)
    if doctor:
        patient["consultant"] = doctor.title() if doctor.isupper() else doctor
    admitted = _field(msg, pv1, 44)
    if admitted:
        patient["admitted_at"] = timestamp(admitted, zone, "PV1-44")
    return Visit(patient, _location(msg, pv1, 3), _location(msg, pv1, 6), _field(msg, pv1, 19))


def _results(msg: Any) -> tuple[Result, ...]:
    obx = [seg for seg in msg if str(seg[0]) == "OBX"]
    return tuple(
        Result(
            index=n,
            code=_field(msg, seg, 3, 1, 1),
            system=_field(msg, seg, 3, 1, 3).upper(),
            value_type=_field(msg, seg, 2).upper(),
            value=_field(msg, seg, 5, 1, 1),
            value_text=_field(msg, seg, 5, 1, 2),
            units=_field(msg, seg, 6, 1, 1),
            status=_field(msg, seg, 11).upper(),
            observed=_field(msg, seg, 14),
        )
        for n, seg in enumerate(obx, start=1)
    )


def _npu(msg: Any) -> tuple[Location, str] | None:
    try:
        npu = msg.segment("NPU")
    except KeyError:
        return None
    where = _location(msg, npu, 1)
    if where is None:
        raise MessageError("NPU-1 (bed location) is empty")
    return where, _field(msg, npu, 2).upper()


def _recorded(text: str, zone: ZoneInfo) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(timestamp(text, zone, "EVN-2"))
    except MessageError:
        return None


def _date(text: str, where: str) -> str:
    m = _TS.match(text)
    if m is None or m.group(3) is None:
        raise MessageError(f"{where} {text!r} is not a date (YYYYMMDD)")
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        raise MessageError(f"{where} {text!r} is not a date") from None


def timestamp(text: str, zone: ZoneInfo, where: str) -> str:
    """An HL7 TS/DTM as ISO 8601 with an offset; without one it is the wards' local time."""
    m = _TS.match(text)
    if m is None or m.group(3) is None:
        raise MessageError(f"{where} {text!r} is not a time (YYYYMMDDHHMM[SS][+ZZZZ])")
    y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups()[:6])
    try:
        when = dt.datetime(y, mo, d, h, mi, sec)  # the zone is decided just below
    except ValueError:
        raise MessageError(f"{where} {text!r} is not a time") from None
    offset = m.group(7)
    if offset:
        sign = 1 if offset[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return when.replace(tzinfo=tz).isoformat()
    return when.replace(tzinfo=zone).isoformat()


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
