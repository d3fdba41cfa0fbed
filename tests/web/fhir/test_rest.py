"""FHIR reads and searches over HTTP on both backend sets: what each search finds, every answer valid R4 by two
libraries, the display rules (no Patient, no subject), ward scopes, the read audit, and refusals as
OperationOutcomes with the right status."""

from __future__ import annotations

import pytest

from tests.feeds.fhir.r4 import assert_r4, resources_of
from tests.web.fhir.conftest import OTHER, WARD, FhirSite

NHS = "https://fhir.nhs.uk/Id/nhs-number"


def ok(r: object) -> list[dict]:  # type: ignore[type-arg]
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("application/fhir+json")  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["type"] == "searchset" and body["total"] == len(body.get("entry", []))
    return resources_of(body)


def test_metadata_is_an_r4_capability_statement(fhir_site: FhirSite) -> None:
    r = fhir_site.get("/fhir/metadata", role="")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cap = assert_r4(r.json())
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"


def test_locations_are_the_covered_wards_and_their_beds(fhir_site: FhirSite) -> None:
    found = ok(fhir_site.get("/fhir/Location"))
    assert [r["id"] for r in found] == [WARD, *(f"{WARD}.B{i}" for i in range(1, 5))]  # never the other ward
    beds = {r["id"]: r["operationalStatus"]["code"] for r in found if "operationalStatus" in r}
    assert beds == {f"{WARD}.B1": "O", f"{WARD}.B2": "U", f"{WARD}.B3": "U", f"{WARD}.B4": "U"}
    assert [r["id"] for r in ok(fhir_site.get("/fhir/Location", partof=f"Location/{WARD}"))] == [
        f"{WARD}.B{i}" for i in range(1, 5)
    ]
    assert [r["id"] for r in ok(fhir_site.get("/fhir/Location", _id=f"{WARD}.B2,{WARD}"))] == [WARD, f"{WARD}.B2"]
    assert ok(fhir_site.get("/fhir/Location", partof=OTHER)) == []  # not covered: nothing, not a hint
    read = fhir_site.get(f"/fhir/Location/{WARD}.B1")
    assert read.status_code == 200 and assert_r4(read.json())["partOf"] == {"reference": f"Location/{WARD}"}


def test_encounters_by_location_and_status(fhir_site: FhirSite) -> None:
    [stay] = ok(fhir_site.get("/fhir/Encounter", location=f"Location/{WARD}.B1", status="in-progress"))
    assert stay["subject"]["display"] == "Ada Lovelace"
    assert ok(fhir_site.get("/fhir/Encounter", location=WARD))[0]["id"] == stay["id"]  # the ward finds it too
    assert ok(fhir_site.get("/fhir/Encounter", location=f"{WARD}.B2")) == []
    assert ok(fhir_site.get("/fhir/Encounter", status="finished")) == []
    assert fhir_site.get("/fhir/Encounter", status="gone").status_code == 400
    read = fhir_site.get(f"/fhir/Encounter/{stay['id']}")
    assert read.status_code == 200 and assert_r4(read.json())["id"] == stay["id"]


def test_patients_by_name_identifier_and_id(fhir_site: FhirSite) -> None:
    [ada] = ok(fhir_site.get("/fhir/Patient", name="love"))
    assert ada["identifier"] == [{"system": NHS, "value": "9434765919"}] and ada["birthDate"] == "1935-12-10"
    assert ok(fhir_site.get("/fhir/Patient", name="ADA"))[0]["id"] == ada["id"]
    assert ok(fhir_site.get("/fhir/Patient", name="vel")) == []  # starts of name parts, as FHIR string search
    assert ok(fhir_site.get("/fhir/Patient", identifier=f"{NHS}|9434765919"))[0]["id"] == ada["id"]
    assert ok(fhir_site.get("/fhir/Patient", identifier="9434765919"))[0]["id"] == ada["id"]
    assert ok(fhir_site.get("/fhir/Patient", identifier="http://other.example/id|9434765919")) == []
    read = fhir_site.get(f"/fhir/Patient/{ada['id']}")
    assert read.status_code == 200 and assert_r4(read.json())["id"] == ada["id"]
    missing = fhir_site.get("/fhir/Patient/p000000")
    assert missing.status_code == 404 and assert_r4(missing.json())["issue"][0]["code"] == "not-found"
    # Outside the credential's wards the patient is not found (and nothing says where they are).
    assert fhir_site.get(f"/fhir/Patient/{ada['id']}", role="other_nurse").status_code == 404


def test_news2_observations_by_patient(fhir_site: FhirSite) -> None:
    [ada] = ok(fhir_site.get("/fhir/Patient", name="ada"))
    [obs] = ok(fhir_site.get("/fhir/Observation", patient=f"Patient/{ada['id']}"))
    snap = fhir_site.snapshot()["beds"][0]["patient"]["news2"]
    # The charted set behind the bed's score (its time to the millisecond; the bed keeps it to the second).
    assert (obs["valueInteger"], obs["effectiveDateTime"][:19]) == (snap["score"], snap["recorded_at"][:19])
    assert obs["subject"]["reference"] == f"Patient/{ada['id']}"
    assert ok(fhir_site.get("/fhir/Observation", patient="Patient/p0")) == []
    assert fhir_site.get("/fhir/Observation", patient="Location/x").status_code == 400


def test_a_display_reads_beds_and_anonymous_stays_but_no_patient(fhir_site: FhirSite) -> None:
    assert len(ok(fhir_site.get("/fhir/Location", role="display"))) == 5
    [stay] = ok(fhir_site.get("/fhir/Encounter", role="display"))
    assert "subject" not in stay and "Lovelace" not in str(stay)
    for path in ("/fhir/Patient", "/fhir/Observation", "/fhir/Patient/anything"):
        r = fhir_site.get(path, role="display")
        assert r.status_code == 403 and assert_r4(r.json())["issue"][0]["code"] == "forbidden", path
        assert "Lovelace" not in r.text and "9434765919" not in r.text
    assert fhir_site.get("/fhir/Encounter", role="display", patient="Patient/x").status_code == 403


def test_identifiable_reads_are_audited_and_display_reads_are_not(fhir_site: FhirSite) -> None:
    before = [r for r in fhir_site.audit() if r["action"] == "read.fhir"]
    ok(fhir_site.get("/fhir/Patient", name="ada", role="viewer"))
    ok(fhir_site.get("/fhir/Location"))  # bed states identify nobody: not audited
    ok(fhir_site.get("/fhir/Encounter", role="display"))
    after = [r for r in fhir_site.audit() if r["action"] == "read.fhir"]
    [new] = after[: len(after) - len(before)]
    assert new["after"]["type"] == "Patient" and new["after"]["count"] == 1 and new["role"] == "viewer"


@pytest.mark.parametrize(
    ("path", "role", "status", "code"),
    [
        ("/fhir/Patient", "", 401, "login"),
        ("/fhir/Location", "ops", 403, "forbidden"),
        ("/fhir/Practitioner", "nurse", 404, "not-found"),
        ("/fhir/Patient?gender=female", "nurse", 400, "not-supported"),
        ("/fhir/Patient?name=a&name=b", "nurse", 400, "invalid"),
        ("/fhir/Location?partof=Patient/x", "nurse", 400, "invalid"),
        ("/fhir/Location?_id=" + "x" * 300, "nurse", 400, "invalid"),
    ],
)
def test_refusals_are_operation_outcomes(fhir_site: FhirSite, path: str, role: str, status: int, code: str) -> None:
    r = fhir_site.c.get(path, headers=fhir_site.as_(role) if role else {})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    outcome = assert_r4(r.json())
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == code
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
