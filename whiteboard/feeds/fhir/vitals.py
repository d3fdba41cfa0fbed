"""A patient's charted observation sets as R4 Observations: one NEWS2 Observation per set, its vital signs as
components. Pure: the caller hands in the patient (as the bed holds them now) and the history rows.

Components, not separate member Observations: a set is one act of charting whose score is derived from all of
its values at once, so it is read, searched and audited as one resource (its id is `o` + the history row's id,
which says nothing about the patient). A bed whose NEWS2 was set as a bare score (no charted set) keeps the
current-score Observation (`n…`) it always had.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from whiteboard.feeds.fhir import codes
from whiteboard.feeds.fhir.resources import encounter_id, news2_observation, patient_id
from whiteboard.types import JSONDict


def _quantity(field: str, value: float) -> JSONDict:
    coding, unit, said = codes.VITAL_CODES[field]
    return {"code": {"coding": coding}, "valueQuantity": {"value": value, "unit": said, "system": codes.UCUM,
                                                          "code": unit}}  # fmt: skip


def _responsiveness(level: str) -> JSONDict:
    coding: list[JSONDict] = [{"system": codes.ACVPU_SYSTEM, "code": level, "display": codes.ACVPU_DISPLAY[level]}]
    if level in codes.ACVPU_SNOMED:
        code, display = codes.ACVPU_SNOMED[level]
        coding.append({"system": codes.SNOMED, "code": code, "display": display})
    return {"code": {"coding": [codes.RESPONSIVENESS]},
            "valueCodeableConcept": {"coding": coding, "text": codes.ACVPU_DISPLAY[level]}}  # fmt: skip


def components(values: dict[str, Any]) -> list[JSONDict]:
    """The set's seven NEWS2 parameters (and its SpO2 scale), in chart order."""
    out = [_quantity("respiration_rate", values["respiration_rate"]), _quantity("spo2", values["spo2"]),
           {"code": {"coding": [codes.SPO2_SCALE]}, "valueInteger": values["spo2_scale"]},
           {"code": {"coding": [codes.ON_OXYGEN]}, "valueBoolean": bool(values["on_oxygen"])},
           _quantity("systolic_bp", values["systolic_bp"]), _quantity("pulse", values["pulse"]),
           _responsiveness(values["consciousness"]), _quantity("temperature", values["temperature"])]  # fmt: skip
    return out


def same_stay(row: JSONDict, patient: JSONDict) -> bool:
    """Charted during this admission (the NHS number also finds the patient's earlier stays)."""
    return bool(row.get("admitted_at") == patient.get("admitted_at"))


def charted_observation(patient: JSONDict, row: JSONDict) -> JSONDict:
    """One charted set: the NEWS2 total as the value, the vital signs as components, who charted it."""
    news2: JSONDict = row["news2"]
    res: JSONDict = {
        "resourceType": "Observation",
        "id": f"o{row['id']}",
        "status": "final",
        "category": [{"coding": [codes.SURVEY]}],  # not vital-signs: R4 would then want a vital-sign code
        "code": {"coding": [codes.NEWS2_CODE], "text": "NEWS2"},
        "subject": {"reference": f"Patient/{patient_id(patient)}"},
        "effectiveDateTime": row["recorded_at"],
        "performer": [{"display": row["recorded_by"]}],
        "valueInteger": news2["score"],
        "interpretation": [{"coding": [{"system": codes.RISK_SYSTEM, "code": news2["risk"]}],
                            "text": f"{news2['risk']} clinical risk"}],
        "component": components(row["values"]),
        "extension": [{"url": codes.RED_SCORE_EXT, "valueBoolean": bool(news2.get("red_score"))},
                      {"url": codes.NEXT_DUE_EXT, "valueDateTime": news2["next_due"]}],
    }  # fmt: skip
    if same_stay(row, patient):
        res["encounter"] = {"reference": f"Encounter/{encounter_id(patient)}"}
    return res


def _moment(text: str) -> dt.datetime:
    """To the second: the bed's NEWS2 time is kept to the second, the history's to the millisecond."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(microsecond=0)


def _made(current: JSONDict, row: JSONDict, patient: JSONDict) -> bool:
    """Did this charted set give the bed its current NEWS2? Same second, same score, same stay (a bare score sent
    in the same second with the same score says nothing the set does not)."""
    said = row["news2"]
    return (
        _moment(row["recorded_at"]) == _moment(current["recorded_at"])
        and (said["score"], said["red_score"]) == (current.get("score"), bool(current.get("red_score")))
        and same_stay(row, patient)
    )


def history(ward_id: str, bed: JSONDict, rows: list[JSONDict]) -> list[JSONDict]:
    """The patient's charted sets, newest first; the bed's current NEWS2 too when no charted set made it
    (a bare score, sent as the current-score Observation). That one goes first: every charted set also set the
    bed's NEWS2, so a current score none of them made was written after all of them."""
    patient: JSONDict = bed["patient"]
    out = [charted_observation(patient, row) for row in rows]
    current: JSONDict | None = patient.get("news2")
    if current and not (current.get("recorded_at") and any(_made(current, row, patient) for row in rows)):
        bare = news2_observation(ward_id, bed)
        if bare is not None:
            out.insert(0, bare)
    return out
