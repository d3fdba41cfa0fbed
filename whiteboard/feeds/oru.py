"""An HL7 v2 `ORU^R01` of vital signs → one charted set of observations on the patient's bed (`adt.Change`).

The bed comes from PV1-3 through the location map and the patient from PID, checked in the transaction like
the ADT events (`expect`); the OBX segments (LOINC in OBX-3) are the readings `feeds.vitals` turns into the
same set the phone records, scored by the server. Results that are not final, or an incomplete set, are AE.
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

from whiteboard.feeds.adt import Change, identity
from whiteboard.feeds.hl7_message import AdtMessage, MessageError, Result, timestamp
from whiteboard.feeds.locations import LocationMap
from whiteboard.feeds.vitals import CODES, VitalsError, VitalSet

EVENT: Final = "R01"
_FINAL: Final = ("F", "C", "")  # OBX-11: final, corrected (empty: as good as final for a monitor)
_LOINC: Final = ("LN", "LOINC")
_SKEW: Final = dt.timedelta(minutes=5)


def is_oru(msg: AdtMessage) -> bool:
    return msg.structure.upper().startswith("ORU") or (msg.event == EVENT and not msg.structure)


def plan(msg: AdtMessage, locations: LocationMap, zone: ZoneInfo, now: dt.datetime) -> Change:
    """The set the message charts; MessageError / LocationError / VitalsError say why not."""
    if msg.event != EVENT:
        raise MessageError(f"ORU^{msg.event or '(none)'} is not handled; the board charts ORU^R01 vital signs")
    if not msg.visits:
        raise MessageError("ORU^R01 needs a PID segment followed by a PV1 segment (the bed, PV1-3)")
    visit = msg.visits[0]
    ward, bed = locations.resolve(visit.location)
    readings = VitalSet.empty()
    taken: list[dt.datetime] = []
    for result in msg.results:
        if result.system not in _LOINC or result.code not in CODES:
            continue  # a diastolic, a panel code, a local code: not a NEWS2 parameter
        where = f"OBX {result.index}"
        if result.status not in _FINAL:
            raise VitalsError(f"{where}: only final results (OBX-11 F or C) are charted, not {result.status!r}")
        readings.add(result.code, _value(result, where), result.units or None, f"{where} (OBX-5)")
        if result.observed:
            taken.append(dt.datetime.fromisoformat(timestamp(result.observed, zone, f"{where} OBX-14")))
    when = max(taken) if taken else (msg.recorded or now)
    if when > now + _SKEW:
        raise VitalsError("the set was taken in the future (OBX-14)")
    record = readings.charted(when.astimezone(dt.UTC), expect=identity(visit), where="OBX")
    return Change(ward, bed, record, f"R01 observations (NEWS2 {record.result.score})")


def _value(result: Result, where: str) -> object:
    """A number for NM (and SN's number), else the coded answer (its code, else its text)."""
    if result.value_type in ("NM", "SN", ""):
        try:
            number = float(result.value)
        except ValueError:
            if result.value_type:
                raise VitalsError(f"{where}: OBX-5 {result.value!r} is not a number") from None
            return result.value
        return int(number) if number.is_integer() else number
    return result.value or result.value_text
