"""FHIR Observation as the patient's charted NEWS2 history, over HTTP on both backend sets: one Observation per
charted set (vital signs as LOINC components, who charted it, newest first), by patient, by encounter and by
id; a bare score still shows; ward scopes narrow to the sets charted on the credential's wards; audited reads."""

from __future__ import annotations

from typing import Any

from tests.feeds.fhir.r4 import assert_r4, resources_of
from tests.web.fhir.conftest import ADA, OBS, OTHER, WARD, FhirSite

LOINC = "http://loinc.org"


def found(r: Any) -> list[dict[str, Any]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    return resources_of(r.json())


def chart(site: FhirSite, ward: str = WARD, bed: str = "B1", role: str = "nurse", **values: Any) -> None:
    r = site.c.post(f"/api/wards/{ward}/beds/{bed}/observations", json={**OBS, **values}, headers=site.as_(role))
    assert r.status_code == 200, r.text


def ada_id(site: FhirSite, role: str = "nurse") -> str:
    [ada] = found(site.get("/fhir/Patient", role=role, name="ada"))
    return str(ada["id"])


def component(obs: dict[str, Any], system: str, code: str) -> dict[str, Any]:
    [hit] = [c for c in obs["component"] if any((d["system"], d["code"]) == (system, code)
                                                 for d in c["code"]["coding"])]  # fmt: skip
    assert isinstance(hit, dict)
    return hit


def test_every_charted_set_is_an_observation_newest_first(fhir_site: FhirSite) -> None:
    chart(fhir_site, pulse=132, consciousness="C", temperature=35.0)  # the fixture charted one set already
    chart(fhir_site, respiration_rate=12, pulse=70, on_oxygen=True)
    sets = found(fhir_site.get("/fhir/Observation", patient=f"Patient/{ada_id(fhir_site)}"))
    assert len(sets) == 3 and all(o["id"].startswith("o") for o in sets)
    store = fhir_site.app.state.wb.store  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = fhir_site.run(store.patient_observations(nhs_number=ADA["nhs_number"]))  # type: ignore[assignment]
    assert [o["id"] for o in sets] == [f"o{r['id']}" for r in rows]
    assert [o["effectiveDateTime"] for o in sets] == [r["recorded_at"] for r in rows]
    newest, middle, oldest = sets
    assert component(newest, LOINC, "9279-1")["valueQuantity"] == {
        "value": 12, "unit": "breaths/minute", "system": "http://unitsofmeasure.org", "code": "/min"}  # fmt: skip
    assert component(middle, LOINC, "8867-4")["valueQuantity"]["value"] == 132
    assert component(middle, LOINC, "8310-5")["valueQuantity"]["value"] == 35.0
    assert component(middle, LOINC, "67775-7")["valueCodeableConcept"]["text"] == "New confusion"
    assert component(oldest, LOINC, "67775-7")["valueCodeableConcept"]["coding"][1]["code"] == "248234008"  # alert
    assert component(oldest, LOINC, "59408-5")["valueQuantity"]["value"] == 95
    assert component(oldest, LOINC, "2708-6") == component(oldest, LOINC, "59408-5")
    assert component(oldest, LOINC, "8480-6")["valueQuantity"]["code"] == "mm[Hg]"
    on_o2 = "https://ward-whiteboard.example/fhir/CodeSystem/news2-parameter"
    assert [component(o, on_o2, "on-oxygen")["valueBoolean"] for o in sets] == [True, False, False]
    bed = fhir_site.snapshot()["beds"][0]["patient"]["news2"]
    assert newest["valueInteger"] == bed["score"] and newest["interpretation"][0]["coding"][0]["code"] == bed["risk"]
    assert {o["performer"][0]["display"] for o in sets} == {rows[0]["recorded_by"]}
    assert all(o["code"]["coding"][0]["code"] == "1104051000000101" for o in sets)  # the NEWS2 total, as before


def test_by_encounter_and_by_id(fhir_site: FhirSite) -> None:
    [stay] = found(fhir_site.get("/fhir/Encounter", location=f"{WARD}.B1"))
    [charted] = found(fhir_site.get("/fhir/Observation", encounter=f"Encounter/{stay['id']}"))
    assert charted["encounter"] == {"reference": f"Encounter/{stay['id']}"}
    assert found(fhir_site.get("/fhir/Observation", encounter="Encounter/e0")) == []
    read = fhir_site.get(f"/fhir/Observation/{charted['id']}", role="viewer")
    assert read.status_code == 200 and assert_r4(read.json()) == charted
    assert fhir_site.get(f"/fhir/Observation/{charted['id']}", role="other_nurse").status_code == 404
    for missing in ("o999999", "o" + "9" * 12, "o" + "9" * 30, "oabc", "n0"):
        assert fhir_site.get(f"/fhir/Observation/{missing}").status_code == 404, missing
    assert found(fhir_site.get("/fhir/Observation", _id=f"{charted['id']},o999999")) == [charted]
    shown = fhir_site.get(f"/fhir/Observation/{charted['id']}", role="display")
    assert shown.status_code == 403 and "Lovelace" not in shown.text and "9434765919" not in shown.text


def test_a_bare_score_still_shows_beside_the_charted_sets(fhir_site: FhirSite) -> None:
    bare = {"name": "Grace Hopper", "news2": {"score": 4}}
    r = fhir_site.c.patch(f"/api/wards/{WARD}/beds/B2", json={"patient": bare}, headers=fhir_site.as_("nurse"))
    assert r.status_code == 200, r.text
    [grace] = found(fhir_site.get("/fhir/Patient", name="grace"))
    [only] = found(fhir_site.get("/fhir/Observation", patient=grace["id"]))
    assert only["id"].startswith("n") and only["valueInteger"] == 4 and "component" not in only
    assert assert_r4(fhir_site.get(f"/fhir/Observation/{only['id']}").json()) == only
    # A bare score sent after a charted set is the newest, and the charted set stays in the history.
    [charted] = found(fhir_site.get("/fhir/Observation", patient=ada_id(fhir_site)))
    r = fhir_site.c.patch(f"/api/wards/{WARD}/beds/B1", json={"patient": {"news2": {"score": 7}}},
                          headers=fhir_site.as_("nurse"))  # fmt: skip
    assert r.status_code == 200, r.text
    sets = found(fhir_site.get("/fhir/Observation", patient=ada_id(fhir_site)))
    assert [(o["id"][0], o["valueInteger"]) for o in sets] == [("n", 7), ("o", charted["valueInteger"])]
    assert sets[1] == charted
    everyone = found(fhir_site.get("/fhir/Observation"))
    assert sorted(o["id"][0] for o in everyone) == ["n", "n", "o"]


def test_a_ward_scoped_reader_sees_only_the_sets_charted_on_its_wards(fhir_site: FhirSite) -> None:
    r = fhir_site.c.post(f"/api/wards/{WARD}/beds/B1/transfer", json={"to_ward": OTHER, "to_bed": "B1"},
                         headers=fhir_site.as_("admin"))  # fmt: skip
    assert r.status_code == 200, r.text
    pid = ada_id(fhir_site, role="admin")
    # The sets charted on WARD stay out of sight; the score the bed shows on OTHER's board is the current one.
    [current] = found(fhir_site.get("/fhir/Observation", role="other_nurse", patient=pid))
    assert current["id"].startswith("n") and "component" not in current and "performer" not in current
    assert found(fhir_site.get("/fhir/Observation", patient=pid)) == []  # the patient left the nurse's ward
    chart(fhir_site, ward=OTHER, role="other_nurse", pulse=111)
    [there] = found(fhir_site.get("/fhir/Observation", role="other_nurse", patient=pid))  # it made the current one
    assert [c["valueQuantity"]["value"] for c in there["component"] if c["code"]["coding"][0]["code"] == "8867-4"] == [
        111
    ]
    both = found(fhir_site.get("/fhir/Observation", role="admin", patient=pid))
    assert len(both) == 2  # every ward: both sets
    # By id: the set charted on WARD is the admin's to read, not the receiving ward's nurse's.
    assert fhir_site.get(f"/fhir/Observation/{both[1]['id']}", role="admin").json() == both[1]
    assert fhir_site.get(f"/fhir/Observation/{both[1]['id']}", role="other_nurse").status_code == 404
    assert fhir_site.get(f"/fhir/Observation/{both[0]['id']}", role="other_nurse").json() == there


def test_observation_reads_are_audited_on_the_patients_ward(fhir_site: FhirSite) -> None:
    before = len([r for r in fhir_site.audit() if r["action"] == "read.fhir"])
    found(fhir_site.get("/fhir/Observation", role="viewer", patient=ada_id(fhir_site)))
    reads = [r for r in fhir_site.audit() if r["action"] == "read.fhir"]
    assert reads[0]["after"]["type"] == "Observation" and reads[0]["role"] == "viewer"
    assert len(reads) == before + 2  # the Patient search that found the id, then the Observation search
