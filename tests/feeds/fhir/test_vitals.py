"""A charted set as an R4 Observation: any chartable set maps to one both FHIR libraries accept, each vital sign
under its LOINC code with its value, the stay named only for this admission's sets, and the bed's current score
shown beside the history only when no charted set made it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.feeds.fhir.r4 import assert_r4
from whiteboard.feeds.fhir import codes, vitals
from whiteboard.feeds.fhir.resources import encounter_id, patient_id

ADMITTED = "2026-11-30T08:00:00.000Z"
PATIENT: dict[str, Any] = {"name": "Mary Seacole", "nhs_number": "9434765919", "admitted_at": ADMITTED,
                           "date_of_birth": "1935-03-14", "flags": []}  # fmt: skip
VALUES = st.fixed_dictionaries({
    "respiration_rate": st.integers(0, 80), "spo2": st.integers(50, 100), "spo2_scale": st.sampled_from([1, 2]),
    "on_oxygen": st.booleans(), "systolic_bp": st.integers(40, 300), "pulse": st.integers(20, 250),
    "consciousness": st.sampled_from("ACVPU"), "temperature": st.integers(300, 440).map(lambda t: t / 10),
})  # fmt: skip


def row(values: dict[str, Any], *, row_id: int = 7, at: str = "2026-12-01T09:00:00.412Z", score: int = 3,
        admitted_at: str = ADMITTED) -> dict[str, Any]:  # fmt: skip
    return {"id": row_id, "ward": "ward-1", "bed": "B01", "offset": "3-0", "nhs_number": PATIENT["nhs_number"],
            "patient_name": PATIENT["name"], "admitted_at": admitted_at, "recorded_at": at,
            "recorded_by": "Nurse Jones", "source": "phone", "values": values,
            "news2": {"score": score, "red_score": False, "risk": "low", "monitoring": "4-hourly",
                      "next_due": "2026-12-01T13:00:00.000Z"}}  # fmt: skip


def bed(news2: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": "B01", "bay": "Bay 1", "status": "occupied", "patient": {**PATIENT, "news2": news2}}


def by_code(obs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {coding["code"]: c for c in obs["component"] for coding in c["code"]["coding"]}


@settings(max_examples=60, deadline=None)
@given(VALUES)
def test_any_charted_set_is_valid_r4_with_each_vital_sign_under_its_code(values: dict[str, Any]) -> None:
    obs = assert_r4(vitals.charted_observation(PATIENT, row(values)))
    assert obs["id"] == "o7" and obs["effectiveDateTime"] == "2026-12-01T09:00:00.412Z"
    assert obs["code"]["coding"] == [codes.NEWS2_CODE] and obs["valueInteger"] == 3
    assert obs["performer"] == [{"display": "Nurse Jones"}]
    assert obs["subject"] == {"reference": f"Patient/{patient_id(PATIENT)}"}
    assert obs["encounter"] == {"reference": f"Encounter/{encounter_id(PATIENT)}"}
    parts = by_code(obs)
    for field, code in [("respiration_rate", "9279-1"), ("spo2", "59408-5"), ("spo2", "2708-6"),
                        ("systolic_bp", "8480-6"), ("pulse", "8867-4"), ("temperature", "8310-5")]:  # fmt: skip
        assert parts[code]["valueQuantity"]["value"] == values[field], field
        assert parts[code]["valueQuantity"]["system"] == codes.UCUM
    assert parts["spo2-scale"]["valueInteger"] == values["spo2_scale"]
    assert parts["on-oxygen"]["valueBoolean"] is values["on_oxygen"]
    level = parts["67775-7"]["valueCodeableConcept"]
    assert level["coding"][0] == {"system": codes.ACVPU_SYSTEM, "code": values["consciousness"],
                                  "display": codes.ACVPU_DISPLAY[values["consciousness"]]}  # fmt: skip
    assert (len(level["coding"]) == 2) is (values["consciousness"] != "C")  # SNOMED AVPU has no C


def test_a_set_from_an_earlier_stay_names_no_encounter() -> None:
    values = {"respiration_rate": 16, "spo2": 97, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120,
              "pulse": 70, "consciousness": "A", "temperature": 36.8}  # fmt: skip
    obs = assert_r4(vitals.charted_observation(PATIENT, row(values, admitted_at="2026-01-02T10:00:00.000Z")))
    assert "encounter" not in obs and obs["subject"] == {"reference": f"Patient/{patient_id(PATIENT)}"}


VALUES_A = {"respiration_rate": 16, "spo2": 97, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120,
            "pulse": 70, "consciousness": "A", "temperature": 36.8}  # fmt: skip
CURRENT = {"score": 3, "red_score": False, "risk": "low", "monitoring": "4-hourly",
           "recorded_at": "2026-12-01T09:00:00Z", "next_due": "2026-12-01T13:00:00Z"}  # fmt: skip


def test_the_current_score_a_charted_set_made_is_not_sent_twice() -> None:
    rows = [row(VALUES_A, row_id=8), row(VALUES_A, row_id=5, at="2026-12-01T05:00:00.000Z", score=1)]
    assert [o["id"] for o in vitals.history("ward-1", bed(CURRENT), rows)] == ["o8", "o5"]


def test_a_bare_score_comes_first_beside_the_charted_sets() -> None:
    rows = [row(VALUES_A, row_id=8)]
    for bare in ({**CURRENT, "score": 9, "risk": "high"},  # the same second, another score
                 {**CURRENT, "recorded_at": "2026-12-01T11:30:00Z"}):  # fmt: skip
        ids = [o["id"][0] for o in vitals.history("ward-1", bed(bare), rows)]
        assert ids == ["n", "o"], bare
    assert [o["id"][0] for o in vitals.history("ward-1", bed(CURRENT), [])] == ["n"]  # no history: as before
    assert vitals.history("ward-1", bed(None), []) == []
    for obs in vitals.history("ward-1", bed(CURRENT), []):
        assert_r4(obs)
