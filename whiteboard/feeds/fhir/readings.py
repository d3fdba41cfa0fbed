"""A vital-signs Observation (FHIR R4 vital-signs profile) → its coded readings, for `feeds.vitals`.

A reading is the Observation's own `code` and `value[x]`, or one of its `component`s (a blood pressure panel
carries the systolic as a component): each LOINC-coded parameter NEWS2 scores is taken, anything else (the
diastolic, a panel's own code) is left aside. Only final results are charted.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from whiteboard.feeds.vitals import CODES, LOINC, SNOMED, VitalsError, VitalSet
from whiteboard.types import JSONDict

UCUM: Final = "http://unitsofmeasure.org"
FINAL: Final = ("final", "amended", "corrected")
SKEW: Final = dt.timedelta(minutes=5)  # a sender's clock may run a little ahead of ours


def is_vitals(res: JSONDict) -> bool:
    """Whether the Observation carries a parameter NEWS2 scores (itself or in a component)."""
    return bool(_coded(res)) or any(_coded(c) for c in res.get("component") or [])


def add_readings(into: VitalSet, res: JSONDict, where: str) -> None:
    """Add the Observation's readings to `into`; VitalsError names the bad one."""
    if res.get("status") not in FINAL:
        raise VitalsError("only final (or amended, corrected) Observations are charted", f"{where}.status")
    own = _coded(res)
    if own is not None:
        _add(into, own, res, where)
    for n, comp in enumerate(res.get("component") or []):
        code = _coded(comp)
        if code is not None:
            _add(into, code, comp, f"{where}.component[{n}]")


def effective(res: JSONDict, now: dt.datetime, where: str) -> dt.datetime | None:
    """When the set was taken (`effectiveDateTime` or the start of `effectivePeriod`); never in the future."""
    text = res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start")
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise VitalsError("the time the set was taken is a dateTime with a time zone", f"{where}.effectiveDateTime")
    if when > now + SKEW:
        raise VitalsError("the set was taken in the future", f"{where}.effectiveDateTime")
    return when.astimezone(dt.UTC)


def _coded(element: JSONDict) -> str | None:
    for coding in (element.get("code") or {}).get("coding") or []:
        if coding.get("system") == LOINC and coding.get("code") in CODES:
            return str(coding["code"])
    return None


def _add(into: VitalSet, code: str, element: JSONDict, where: str) -> None:
    if "valueQuantity" in element:
        q = element["valueQuantity"]
        unit = q.get("code") if q.get("system") == UCUM and q.get("code") else q.get("unit")
        into.add(code, q.get("value"), unit, f"{where}.valueQuantity")
    elif "valueCodeableConcept" in element:
        concept = element["valueCodeableConcept"]
        codings = concept.get("coding") or []
        chosen = next((c.get("code") for c in codings if c.get("system") == SNOMED), None)
        chosen = chosen or next((c.get("code") for c in codings if c.get("code")), None) or concept.get("text")
        into.add(code, chosen, None, f"{where}.valueCodeableConcept")
    elif "valueString" in element:
        into.add(code, element["valueString"], None, f"{where}.valueString")
    elif "valueInteger" in element:
        into.add(code, element["valueInteger"], None, f"{where}.valueInteger")
    else:
        raise VitalsError("a reading needs a value (valueQuantity, or a code for consciousness)", where)
