"""Vital-sign Observations in a FHIR transaction (both backend sets): the server scores NEWS2 from them and charts
the set as `POST .../observations` does (bed, history, audit, one transaction with the rest of the Bundle); an
incomplete or uncharted set is an OperationOutcome naming the entry, and nothing of the Bundle is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.feeds.fhir.bundles import bed_state, encounter, patient, transaction, vital, vital_signs
from tests.feeds.fhir.r4 import assert_r4
from tests.web.fhir.conftest import WARD, FhirSite

ADA_ID = "9434765919"


def _ada(fhir_site: FhirSite) -> str:
    [found] = fhir_site.get("/fhir/Patient", identifier=f"https://fhir.nhs.uk/Id/nhs-number|{ADA_ID}").json()["entry"]
    return f"Patient/{found['resource']['id']}"


def test_a_set_of_vital_signs_is_scored_by_the_server(fhir_site: FhirSite) -> None:
    ada = _ada(fhir_site)
    before = len(fhir_site.get("/fhir/Observation", patient=ada).json().get("entry") or [])
    ill = {"9279-1": (25, "/min"), "80288-4": ("300202002", ""), "8480-6": (95, "mm[Hg]")}  # 3 + 3 + 2
    r = fhir_site.post(transaction(*vital_signs(ada, ill, at="2026-12-01T09:00:00Z"), bed_state(f"{WARD}.B2", "C")))
    assert r.status_code == 200, r.text
    body = assert_r4(r.json())
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * 7 + ["200 OK"]
    beds = {b["id"]: b for b in fhir_site.snapshot()["beds"]}
    news2 = beds["B1"]["patient"]["news2"]
    assert news2["score"] == 8 and news2["red_score"] is True and news2["risk"] == "high"
    assert news2["recorded_at"].startswith("2026-12-01T09:00") and beds["B2"]["status"] == "closed"
    charted = [a for a in fhir_site.audit() if a["source"] == "fhir" and a["bed"] == "B1"]
    assert len(charted) == 1
    after = fhir_site.get("/fhir/Observation", patient=ada).json()
    assert len(after.get("entry") or []) >= before


def test_an_admission_and_its_first_set_in_one_bundle(fhir_site: FhirSite) -> None:
    r = fhir_site.post(transaction(
        patient("urn:uuid:g", "Grace Hopper", "9434765870"), encounter("urn:uuid:g", f"{WARD}.B3"),
        *vital_signs("urn:uuid:g"),
    ))  # fmt: skip
    assert r.status_code == 200, r.text
    grace = next(b for b in fhir_site.snapshot()["beds"] if b["id"] == "B3")["patient"]
    assert grace["name"] == "Grace Hopper" and grace["news2"]["score"] == 0 and grace["news2"]["risk"] == "low"


@pytest.mark.parametrize(
    ("change", "entry", "expression", "words"),
    [
        (lambda es: es[:4] + es[5:], 0, "Bundle.entry[1]", "missing: body temperature"),
        (lambda es: [*es[:4], vital("P", "8310-5", 99.0, "[degF]"), *es[5:]], 4, ".valueQuantity", "[degF]"),
        (lambda es: [*es[:4], vital("P", "8310-5", 12.0, "Cel"), *es[5:]], 4, ".valueQuantity", "temperature"),
        (lambda es: [*es, vital("P", "9279-1", 12, "/min")], 7, ".valueQuantity", "given twice"),
        (
            lambda es: [*es[:1], {**es[1], "resource": {**es[1]["resource"], "status": "preliminary"}}, *es[2:]],
            1,
            ".status",
            "only final",
        ),
    ],
)
def test_a_set_that_cannot_be_charted_changes_nothing(
    fhir_site: FhirSite, change: Any, entry: int, expression: str, words: str
) -> None:
    ada = _ada(fhir_site)
    entries = [_with_subject(e, ada) for e in change(vital_signs(ada))]
    before, audited = fhir_site.snapshot(), fhir_site.changes_audited()
    r = fhir_site.post(transaction(bed_state(f"{WARD}.B2", "C"), *entries))  # the Location comes first
    assert r.status_code == 422, r.text
    issue = assert_r4(r.json())["issue"][0]
    assert words in issue["diagnostics"] and f"entry {entry + 1}:" in issue["diagnostics"]
    assert expression in issue["expression"][0]
    assert fhir_site.snapshot() == before and fhir_site.changes_audited() == audited


def test_a_set_for_a_patient_in_no_bed_is_refused(fhir_site: FhirSite) -> None:
    r = fhir_site.post(transaction(patient("urn:uuid:n", "Nobody Here", "4010232137"), *vital_signs("urn:uuid:n")))
    assert r.status_code == 422 and "bed" in r.json()["issue"][0]["diagnostics"]


def _with_subject(entry: dict[str, Any], subject: str) -> dict[str, Any]:
    return {**entry, "resource": {**entry["resource"], "subject": {"reference": subject}}}
