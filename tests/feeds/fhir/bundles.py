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
