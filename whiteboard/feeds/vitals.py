"""Coded vital signs from a feed (FHIR Observations, HL7 OBX segments) → one charted set of observations.

Both feeds name each parameter by its LOINC code (the FHIR vital-signs profile's and the usual OBX-3 codes)
and the set becomes the same `observations.record` body the phone sends, so the server scores NEWS2 the one
way. A set is charted only when complete: NEWS2 from some of its parameters would under-score the patient.
Units are checked (a Fahrenheit temperature or a kPa pressure is refused, never converted by guesswork).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from whiteboard.domain.observations import ObservationRecord, record
from whiteboard.errors import DomainError
from whiteboard.types import JSONDict

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"

# LOINC code → (the set's field, the UCUM units accepted for it; empty: no unit).
CODES: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "9279-1": ("respiration_rate", frozenset({"/min", "{breaths}/min", "breaths/min"})),
    "59408-5": ("spo2", frozenset({"%"})),
    "2708-6": ("spo2", frozenset({"%"})),
    "8480-6": ("systolic_bp", frozenset({"mm[Hg]", "mmHg"})),
    "8867-4": ("pulse", frozenset({"/min", "{beats}/min", "beats/min"})),
    "8310-5": ("temperature", frozenset({"Cel", "°C", "degC"})),
    "80288-4": ("consciousness", frozenset()),  # level of consciousness (ACVPU)
    "67775-7": ("consciousness", frozenset()),  # level of responsiveness: what our own FHIR Observations send
    "3151-8": ("oxygen_flow", frozenset({"L/min", "l/min"})),  # inhaled oxygen flow rate: > 0 is on oxygen
    "3150-0": ("oxygen_fraction", frozenset({"%"})),  # inhaled oxygen concentration: > 21 % is on oxygen
}
# Level of consciousness answers (SNOMED CT findings), and the ACVPU letters and words themselves.
ACVPU_SNOMED: Final = {
    "248234008": "A",  # mentally alert
    "130987000": "C",  # acute confusion (new confusion)
    "300202002": "V",  # responds to voice
    "450847001": "P",  # responds to pain
    "422768004": "U",  # unresponsive
}
ACVPU_WORDS: Final = {
    "A": "A", "ALERT": "A", "C": "C", "CONFUSION": "C", "NEW CONFUSION": "C", "CONFUSED": "C",
    "V": "V", "VOICE": "V", "P": "P", "PAIN": "P", "U": "U", "UNRESPONSIVE": "U",
}  # fmt: skip
PARAMETERS: Final = (
    "respiration_rate", "spo2", "on_oxygen", "systolic_bp", "pulse", "consciousness", "temperature",
)  # fmt: skip
_LABELS: Final = {
    "respiration_rate": "respiratory rate (LOINC 9279-1)",
    "spo2": "SpO2 (LOINC 59408-5 or 2708-6)",
    "on_oxygen": "air or oxygen (LOINC 3151-8 oxygen flow rate or 3150-0 inhaled oxygen concentration)",
    "systolic_bp": "systolic blood pressure (LOINC 8480-6)",
    "pulse": "heart rate (LOINC 8867-4)",
    "consciousness": "level of consciousness, ACVPU (LOINC 80288-4)",
    "temperature": "body temperature (LOINC 8310-5)",
}


class VitalsError(ValueError):
    """A reading or a set the board cannot chart; `where` names the part of the message (entry, OBX)."""

    def __init__(self, message: str, where: str = "", missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.missing = missing  # the parameters an incomplete set lacks


@dataclass
class VitalSet:
    """The readings of one patient's set as they arrive (each parameter once), then `charted`."""

    values: dict[str, object]
    where: dict[str, str]

    @classmethod
    def empty(cls) -> VitalSet:
        return cls({}, {})

    def add(self, code: str, value: object, unit: str | None, where: str) -> None:
        """One coded reading; `value` a number, or for consciousness a letter, word or SNOMED code."""
        field, units = CODES[code]
        if units and (unit or "") not in units:
            raise VitalsError(f"{_label(field)} is in {' or '.join(sorted(units))}, not {unit or '(none)'!r}", where)
        if field == "consciousness":
            value = _acvpu(value, where)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise VitalsError(f"{_label(field)} needs a number", where)
        if field in ("oxygen_flow", "oxygen_fraction"):
            assert isinstance(value, int | float)
            value = value > (0 if field == "oxygen_flow" else 21)
            field = "on_oxygen"
        if field in self.values:
            raise VitalsError(f"{_label(field)} is given twice in one set", where)
        self.values[field] = value
        self.where[field] = where

    def charted(self, recorded_at: dt.datetime, expect: JSONDict | None = None, where: str = "") -> ObservationRecord:
        """The set as the write path charts it (on the patient's recorded SpO2 scale); complete or refused."""
        missing = [p for p in PARAMETERS if p not in self.values]
        if missing:
            raise VitalsError(
                "a NEWS2 set needs every parameter; missing: " + "; ".join(_label(p) for p in missing),
                where,
                tuple(missing),
            )
        body: JSONDict = {**self.values, "spo2_scale": 1}
        temperature = body["temperature"]
        if isinstance(temperature, float):
            body["temperature"] = round(temperature, 1)  # the chart keeps one decimal place
        for key in ("respiration_rate", "spo2", "systolic_bp", "pulse"):
            number = body[key]
            if isinstance(number, float) and number.is_integer():
                body[key] = int(number)
        try:
            return record(body, recorded_at, expect=expect, scale_from_record=True)
        except DomainError as exc:
            field = exc.field or ""
            raise VitalsError(f"{exc.message} ({field})", self.where.get(field, where)) from None


def _label(field: str) -> str:
    return _LABELS.get(field, _LABELS["on_oxygen"] if field.startswith("oxygen") else field)


def _acvpu(value: object, where: str) -> str:
    text = str(value).strip().upper() if isinstance(value, str) else ""
    letter = ACVPU_SNOMED.get(text) or ACVPU_WORDS.get(text)
    if letter is None:
        raise VitalsError(
            "level of consciousness is one of A C V P U (alert, new confusion, voice, pain, unresponsive) or its "
            f"SNOMED CT finding, not {value!r}",
            where,
        )
    return letter
