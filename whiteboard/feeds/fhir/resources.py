"""Wards, beds and the patients on them as FHIR R4 resources. Pure: the caller hands in the ward and its beds.

Ids: a ward's Location is the ward id, a bed's is `WARD.BED`. A patient has no record of their own on the board
(they are on a bed), so their Patient id is a digest of who they are and when they were admitted (`p…`), and
their stay is the Encounter `e…` with the same digest: both stay the same while the patient moves between beds,
and say nothing about them to whoever sees only the id.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from whiteboard.feeds.fhir import codes
from whiteboard.types import JSONDict


def bed_location_id(ward_id: str, bed_id: str) -> str:
    return f"{ward_id}.{bed_id}"


def split_location_id(location_id: str) -> tuple[str, str | None]:
    """`WARD.BED` → (ward, bed); a ward's own id → (ward, None). Bed ids hold no dot; ward ids may."""
    ward, dot, bed = location_id.rpartition(".")
    return (ward, bed) if dot and ward and bed else (location_id, None)


def patient_digest(patient: JSONDict) -> str:
    """Who the patient is and when they came in: stable across bed moves and record updates."""
    key = [patient.get("nhs_number") or "", patient.get("name") or "", patient.get("date_of_birth") or "",
           patient.get("admitted_at") or ""]  # fmt: skip
    return hashlib.sha256(orjson.dumps(key)).hexdigest()[:24]


def patient_id(patient: JSONDict) -> str:
    return "p" + patient_digest(patient)


def encounter_id(patient: JSONDict) -> str:
    return "e" + patient_digest(patient)


def ward_location(ward_id: str, name: str) -> JSONDict:
    return {
        "resourceType": "Location",
        "id": ward_id,
        "identifier": [{"system": codes.BOARD_LOCATION, "value": ward_id}],
        "status": "active",
        "name": name,
        "mode": "instance",
        "physicalType": {"coding": [{"system": codes.LOCATION_PHYSICAL_TYPE, "code": "wa", "display": "Ward"}]},
    }


def bed_location(ward_id: str, bed: JSONDict) -> JSONDict:
    status = bed["status"]
    code = codes.STATUS_TO_0116[status]
    flags = (bed.get("patient") or {}).get("flags") or []
    if status == "occupied" and "isolation" in flags:
        code = "I"
    location: JSONDict = {
        "resourceType": "Location",
        "id": bed_location_id(ward_id, bed["id"]),
        "identifier": [{"system": codes.BOARD_LOCATION, "value": bed_location_id(ward_id, bed["id"])}],
        "status": "suspended" if status in ("closed", "blocked") else "active",
        "operationalStatus": {"system": codes.V2_0116, "code": code, "display": codes.BED_STATUS_DISPLAY[code]},
        "name": f"{bed.get('bay') or ''} {bed['id']}".strip(),
        "mode": "instance",
        "physicalType": {"coding": [{"system": codes.LOCATION_PHYSICAL_TYPE, "code": "bd", "display": "Bed"}]},
        "partOf": {"reference": f"Location/{ward_id}"},
    }
    if bed.get("updated_at"):
        location["meta"] = {"lastUpdated": bed["updated_at"], "versionId": str(bed.get("version", 0))}
    return location


def _human_name(name: str) -> JSONDict:
    parts = name.split()
    out: JSONDict = {"use": "official", "text": name}
    if parts:
        out["family"] = parts[-1]
    if len(parts) > 1:
        out["given"] = parts[:-1]
    return out


def patient_resource(patient: JSONDict) -> JSONDict:
    res: JSONDict = {"resourceType": "Patient", "id": patient_id(patient), "active": True}
    if patient.get("nhs_number"):
        res["identifier"] = [{"system": codes.NHS_NUMBER, "value": patient["nhs_number"]}]
    if patient.get("name"):
        res["name"] = [_human_name(patient["name"])]
    if patient.get("sex") in codes.SEX_TO_GENDER:
        res["gender"] = codes.SEX_TO_GENDER[patient["sex"]]
    if patient.get("date_of_birth"):
        res["birthDate"] = patient["date_of_birth"]
    return res


def encounter(ward_id: str, ward_name: str, bed: JSONDict, *, identifiable: bool) -> JSONDict:
    """Who is in this bed. Without `identifiable` (a display), no subject at all: the stay, not the person."""
    patient: JSONDict = bed["patient"]
    res: JSONDict = {
        "resourceType": "Encounter",
        "id": encounter_id(patient),
        "status": "in-progress",
        "class": codes.INPATIENT,
        "location": [
            {"location": {"reference": f"Location/{bed_location_id(ward_id, bed['id'])}", "display": bed["id"]},
             "status": "active", "physicalType": {"coding": [{"system": codes.LOCATION_PHYSICAL_TYPE, "code": "bd"}]}},
            {"location": {"reference": f"Location/{ward_id}", "display": ward_name}, "status": "active",
             "physicalType": {"coding": [{"system": codes.LOCATION_PHYSICAL_TYPE, "code": "wa"}]}},
        ],
    }  # fmt: skip
    if patient.get("admitted_at"):
        res["period"] = {"start": patient["admitted_at"]}
    if identifiable:
        res["subject"] = {"reference": f"Patient/{patient_id(patient)}", "display": patient.get("name") or ""}
    return res


def news2_observation(ward_id: str, bed: JSONDict) -> JSONDict | None:
    """The bed's current NEWS2 as an Observation: for a score no charted set made (`vitals` maps the sets)."""
    patient: JSONDict = bed["patient"]
    news2: dict[str, Any] | None = patient.get("news2")
    if not news2:
        return None
    recorded = news2.get("recorded_at") or ""
    digest = hashlib.sha256(orjson.dumps([patient_digest(patient), recorded])).hexdigest()[:24]
    res: JSONDict = {
        "resourceType": "Observation",
        "id": "n" + digest,
        "status": "final",
        "category": [{"coding": [codes.SURVEY]}],
        "code": {"coding": [codes.NEWS2_CODE], "text": "NEWS2"},
        "subject": {"reference": f"Patient/{patient_id(patient)}"},
        "encounter": {"reference": f"Encounter/{encounter_id(patient)}"},
        "valueInteger": news2["score"],
        "interpretation": [{"coding": [{"system": codes.RISK_SYSTEM, "code": news2["risk"]}],
                            "text": f"{news2['risk']} clinical risk"}],
        "extension": [{"url": codes.RED_SCORE_EXT, "valueBoolean": bool(news2.get("red_score"))}],
    }  # fmt: skip
    if recorded:
        res["effectiveDateTime"] = recorded
    if news2.get("next_due"):
        res["extension"].append({"url": codes.NEXT_DUE_EXT, "valueDateTime": news2["next_due"]})
    return res


def searchset(resources: list[JSONDict], base: str) -> JSONDict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                  for r in resources],
    }  # fmt: skip
