"""Synthetic FHIR transaction Bundles the tests build (the names and NHS numbers are made up; the numbers'
check digits are valid)."""

from __future__ import annotations

from typing import Any

V2_0116 = "http://terminology.hl7.org/CodeSystem/v2-0116"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
INPATIENT = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}
NEWS2 = {"system": "http://snomed.info/sct", "code": "1104051000000101"}


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def patient(ref: str, name: str, nhs: str | None = None, **extra: Any) -> dict[str, Any]:
    given, _, family = name.rpartition(" ")
    res: dict[str, Any] = {"resourceType": "Patient", "name": [{"given": [given], "family": family}], **extra}
    if nhs:
        res["identifier"] = [{"system": NHS, "value": nhs}]
    return {"fullUrl": ref, "resource": res, "request": {"method": "POST", "url": "Patient"}}


def encounter(subject: str, bed: str, status: str = "in-progress", start: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": status,
        "class": INPATIENT,
        "subject": {"reference": subject},
        "location": [{"location": {"reference": f"Location/{bed}"}}],
    }
    if start:
        res["period"] = {"start": start}
    return {"resource": res, "request": {"method": "POST", "url": "Encounter"}}


def bed_state(bed: str, code: str) -> dict[str, Any]:
    res = {"resourceType": "Location", "id": bed, "operationalStatus": {"system": V2_0116, "code": code}}
    return {"resource": res, "request": {"method": "PUT", "url": f"Location/{bed}"}}


def news2(subject: str, score: int, red: bool = False, at: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": {"coding": [NEWS2]},
                           "subject": {"reference": subject}, "valueInteger": score}  # fmt: skip
    if red:
        res["extension"] = [{"url": "https://ward-whiteboard.example/fhir/StructureDefinition/news2-red-score",
                             "valueBoolean": True}]  # fmt: skip
    if at:
        res["effectiveDateTime"] = at
    return {"resource": res, "request": {"method": "POST", "url": "Observation"}}


LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# A full NEWS2 set (LOINC code, value, UCUM unit) scoring 0; systolic BP travels in a panel (see `vital_signs`).
CALM: dict[str, tuple[Any, str]] = {
    "9279-1": (16, "/min"), "59408-5": (97, "%"), "3151-8": (0, "L/min"), "8867-4": (70, "/min"),
    "8310-5": (36.8, "Cel"), "80288-4": ("248234008", ""), "8480-6": (124, "mm[Hg]"),
}  # fmt: skip


def vital(subject: str, code: str, value: Any, unit: str, at: str | None = None) -> dict[str, Any]:
    """One vital-sign Observation (FHIR vital-signs profile shape); consciousness as a SNOMED CT finding."""
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": subject},
    }
    if code == "80288-4":
        res["valueCodeableConcept"] = {"coding": [{"system": "http://snomed.info/sct", "code": value}]}
    else:
        res["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if at:
        res["effectiveDateTime"] = at
    return {"resource": res, "request": {"method": "POST", "url": "Observation"}}


def vital_signs(
    subject: str, values: dict[str, tuple[Any, str]] | None = None, at: str | None = None
) -> list[dict[str, Any]]:
    """A set as separate Observations, with systolic BP as a component of a blood pressure panel (85354-9)."""
    values = {**CALM, **(values or {})}
    out = [vital(subject, code, v, unit, at) for code, (v, unit) in values.items() if code != "8480-6"]
    if "8480-6" in values:
        bp = vital(subject, "85354-9", 0, "", at)
        res = bp["resource"]
        del res["valueQuantity"]
        res["component"] = [
            {"code": {"coding": [{"system": LOINC, "code": c}]},
             "valueQuantity": {"value": v, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}}
            for c, v in (("8480-6", values["8480-6"][0]), ("8462-4", 80))
        ]  # fmt: skip
        out.append(bp)
    return out
