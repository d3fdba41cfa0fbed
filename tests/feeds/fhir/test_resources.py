"""The board as FHIR R4 resources: every bed state, patient and NEWS2 maps to a resource both FHIR libraries
accept, ids stay put while a patient's record changes, and a display's Encounter names nobody."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.feeds.fhir.r4 import assert_r4
from whiteboard.feeds.fhir import codes, model, resources
from whiteboard.feeds.fhir.capability import capability_statement
from whiteboard.feeds.fhir.outcome import FhirError

PATIENT: dict[str, Any] = {"name": "Mary Seacole", "nhs_number": "9434765919", "date_of_birth": "1935-03-14",
           "sex": "F", "admitted_at": "2026-11-30T08:00:00.000Z", "flags": [],
           "news2": {"score": 6, "red_score": True, "risk": "medium", "monitoring": "hourly",
                     "recorded_at": "2026-12-01T09:00:00Z", "next_due": "2026-12-01T10:00:00Z"}}  # fmt: skip


def bed(status: str, patient: dict[str, Any] | None = None, bed_id: str = "B01") -> dict[str, Any]:
    return {"id": bed_id, "bay": "Bay 1", "status": status, "notes": "", "patient": patient,
            "updated_at": "2026-12-01T09:00:00.000Z", "version": 3}  # fmt: skip


@pytest.mark.parametrize(
    ("status", "code", "location_status"),
    [("empty", "U", "active"), ("occupied", "O", "active"), ("cleaning", "H", "active"),
     ("closed", "C", "suspended"), ("blocked", "C", "suspended")],
)  # fmt: skip
def test_bed_states_are_table_0116_codes(status: str, code: str, location_status: str) -> None:
    loc = assert_r4(resources.bed_location("ward-1", bed(status, PATIENT if status == "occupied" else None)))
    assert loc["operationalStatus"] == {
        "system": codes.V2_0116,
        "code": code,
        "display": codes.BED_STATUS_DISPLAY[code],
    }
    assert loc["status"] == location_status and loc["partOf"] == {"reference": "Location/ward-1"}
    assert loc["id"] == "ward-1.B01" and resources.split_location_id(loc["id"]) == ("ward-1", "B01")


def test_an_isolated_patient_makes_an_isolated_bed() -> None:
    loc = resources.bed_location("ward-1", bed("occupied", {**PATIENT, "flags": ["isolation"]}))
    assert loc["operationalStatus"]["code"] == "I"


def test_patient_encounter_and_news2_observation() -> None:
    patient = assert_r4(resources.patient_resource(PATIENT))
    assert patient["identifier"] == [{"system": codes.NHS_NUMBER, "value": "9434765919"}]
    assert patient["name"][0] == {"use": "official", "text": "Mary Seacole", "family": "Seacole", "given": ["Mary"]}
    assert (patient["gender"], patient["birthDate"]) == ("female", "1935-03-14")
    stay = assert_r4(resources.encounter("ward-1", "Ward One", bed("occupied", PATIENT), identifiable=True))
    assert stay["subject"]["reference"] == f"Patient/{patient['id']}" and stay["status"] == "in-progress"
    assert [loc["location"]["reference"] for loc in stay["location"]] == ["Location/ward-1.B01", "Location/ward-1"]
    obs = resources.news2_observation("ward-1", bed("occupied", PATIENT))
    assert obs is not None
    assert_r4(obs)
    assert obs["valueInteger"] == 6 and obs["code"]["coding"][0]["code"] == "1104051000000101"
    assert {"url": codes.RED_SCORE_EXT, "valueBoolean": True} in obs["extension"]
    assert obs["subject"] == {"reference": f"Patient/{patient['id']}"}


def test_a_display_encounter_names_nobody() -> None:
    stay = assert_r4(resources.encounter("ward-1", "Ward One", bed("occupied", PATIENT), identifiable=False))
    assert "subject" not in stay
    assert "Seacole" not in str(stay) and "9434765919" not in str(stay)


def test_ids_survive_record_updates_and_bed_moves_but_not_a_new_admission() -> None:
    pid = resources.patient_id(PATIENT)
    assert resources.patient_id({**PATIENT, "consultant": "Dr X", "news2": None}) == pid
    assert resources.encounter("w", "W", bed("occupied", PATIENT, "B07"), identifiable=True)["id"] == "e" + pid[1:]
    assert resources.patient_id({**PATIENT, "admitted_at": "2026-12-01T08:00:00.000Z"}) != pid


def test_the_capability_statement_is_r4_4_0_1() -> None:
    cap = assert_r4(capability_statement("1.0", "2026-12-01T00:00:00Z"))
    assert cap["fhirVersion"] == "4.0.1"
    searched = {r["type"]: {p["name"] for p in r.get("searchParam", [])} for r in cap["rest"][0]["resource"]}
    assert {"partof", "_id"} <= searched["Location"] and {"location", "status"} <= searched["Encounter"]
    assert {"name", "identifier"} <= searched["Patient"] and "patient" in searched["Observation"]


def test_what_we_accept_is_checked_by_the_r4_model() -> None:
    with pytest.raises(FhirError) as bad_date:
        model.accept({"resourceType": "Patient", "birthDate": "1 May 1950"})
    assert bad_date.value.status == 400 and "birthDate" in bad_date.value.diagnostics
    with pytest.raises(FhirError) as unknown:
        model.accept({"resourceType": "Patient", "nickname": "Mo"})
    assert "nickname" in unknown.value.diagnostics
    with pytest.raises(FhirError) as missing:
        model.accept({"resourceType": "Encounter", "status": "in-progress"})  # no class: required in R4
    assert "class" in missing.value.diagnostics
    with pytest.raises(FhirError) as other:
        model.accept({"resourceType": "Medication"})
    assert other.value.status == 422
    with pytest.raises(model.InvalidOutput):
        model.checked({"resourceType": "Location", "status": 3})


names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=60, deadline=None)
@given(
    status=st.sampled_from(["empty", "occupied", "cleaning", "closed", "blocked"]),
    name=names,
    sex=st.sampled_from([None, "F", "M", "X", "U"]),
    score=st.integers(0, 20),
    flags=st.lists(st.sampled_from(["isolation", "falls", "infection"]), unique=True),
)
def test_any_bed_maps_to_valid_r4(status: str, name: str, sex: str | None, score: int, flags: list[str]) -> None:
    """Whatever a nurse typed, what we send is valid R4 (fhirclient's check is what the server runs too)."""
    patient = {**PATIENT, "name": name, "sex": sex, "flags": flags, "news2": {**PATIENT["news2"], "score": score}}
    b = bed(status, patient if status == "occupied" else None)
    model.checked(resources.bed_location("ward-1", b))
    if status == "occupied":
        model.checked(resources.patient_resource(patient))
        model.checked(resources.encounter("ward-1", "W", b, identifiable=True))
        obs = resources.news2_observation("ward-1", b)
        assert obs is not None
        model.checked(obs)
