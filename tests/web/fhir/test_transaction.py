"""POST /fhir over HTTP on both backend sets: a ward imported in one transaction (events, audit as the FHIR
source, read-your-writes), changes applied to it, and a bad Bundle that changes nothing at all."""

from __future__ import annotations

from typing import Any

import pytest

from tests.feeds.fhir.bundles import bed_state, encounter, news2, patient, transaction
from tests.feeds.fhir.r4 import assert_r4
from tests.web.fhir.conftest import OTHER, WARD, FhirSite


def admit_two() -> dict[str, Any]:
    return transaction(
        patient("urn:uuid:a", "Grace Hopper", "9434765870", gender="female", birthDate="1936-12-09"),
        encounter("urn:uuid:a", f"{WARD}.B2", start="2026-12-01T07:00:00Z"),
        news2("urn:uuid:a", 7, red=True, at="2026-12-01T07:30:00Z"),
        patient("urn:uuid:b", "Alan Turing", gender="male"),
        encounter("urn:uuid:b", f"{WARD}.B3"),
        bed_state(f"{WARD}.B4", "C"),
    )


def effects(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["response"]["status"], e["response"]["outcome"]["issue"][0]["diagnostics"]) for e in body["entry"]]


def test_a_ward_import_commits_in_one_transaction_and_reaches_the_board(fhir_site: FhirSite) -> None:
    seq = fhir_site.snapshot()["offset"]
    r = fhir_site.post(admit_two())
    assert r.status_code == 200, r.text
    body = assert_r4(r.json())
    assert body["type"] == "transaction-response"
    assert effects(body) == [("201 Created", "created"), ("201 Created", "created"), ("200 OK", "changed"),
                             ("201 Created", "created"), ("201 Created", "created"), ("200 OK", "changed")]  # fmt: skip
    # Read your writes: the board (this instance's view) has all of it at once.
    beds = {b["id"]: b for b in fhir_site.snapshot()["beds"]}
    assert seq == "2-0" and fhir_site.snapshot()["offset"] == "5-0"  # three bed changes, three events
    grace = beds["B2"]["patient"]
    assert (grace["name"], grace["nhs_number"], grace["sex"], beds["B2"]["status"]) == (
        "Grace Hopper", "9434765870", "F", "occupied")  # fmt: skip
    assert grace["news2"]["score"] == 7 and grace["news2"]["risk"] == "high"
    assert beds["B3"]["patient"]["name"] == "Alan Turing" and beds["B4"]["status"] == "closed"
    # The answer's locations are the ids the FHIR reads now give.
    location = body["entry"][0]["response"]["location"]
    assert fhir_site.get(f"/fhir/{location}").status_code == 200
    stay = body["entry"][1]["response"]["location"]
    assert fhir_site.get(f"/fhir/{stay}").json()["subject"]["reference"] == location
    # Audited as the FHIR client's changes, one record per bed, sharing the request id.
    changes = [a for a in fhir_site.audit() if a["source"] == "fhir"]
    assert sorted(a["bed"] for a in changes) == ["B2", "B3", "B4"] and len({a["request_id"] for a in changes}) == 1


def test_changes_update_and_discharge(fhir_site: FhirSite) -> None:
    assert fhir_site.post(admit_two()).status_code == 200
    r = fhir_site.post(transaction(
        patient("urn:uuid:c", "Ada Lovelace", "9434765919"), encounter("urn:uuid:c", f"{WARD}.B1", "finished"),
        patient("urn:uuid:d", "Grace Hopper", "9434765870", birthDate="1936-12-09"), bed_state(f"{WARD}.B4", "U"),
    ))  # fmt: skip
    assert r.status_code == 200, r.text
    assert effects(r.json()) == [("200 OK", "changed"), ("200 OK", "changed"), ("200 OK", "unchanged"),
                                 ("200 OK", "changed")]  # fmt: skip
    beds = {b["id"]: b for b in fhir_site.snapshot()["beds"]}
    assert beds["B1"]["patient"] is None and beds["B1"]["status"] == "cleaning"
    assert beds["B4"]["status"] == "empty"
    # The same Bundle again changes nothing: B1 has nobody to discharge, so it is refused, whole.
    again = fhir_site.post(transaction(patient("urn:uuid:c", "Ada Lovelace", "9434765919"),
                                       encounter("urn:uuid:c", f"{WARD}.B1", "finished")))  # fmt: skip
    assert again.status_code == 422 and again.json()["issue"][0]["expression"] == ["Bundle.entry[1]"]


def test_a_bad_bundle_changes_nothing(fhir_site: FhirSite) -> None:
    """The last bed's change is refused inside the transaction, after the others were written: all undone."""
    before, audit_before = fhir_site.snapshot(), fhir_site.changes_audited()
    bundle = transaction(bed_state(f"{WARD}.B2", "H"), bed_state(f"{WARD}.B3", "C"), bed_state(f"{WARD}.B1", "U"))
    r = fhir_site.post(bundle)
    assert r.status_code == 422, r.text
    outcome = assert_r4(r.json())["issue"][0]
    assert outcome["expression"] == ["Bundle.entry[2]"] and "B1" in outcome["diagnostics"]
    after = fhir_site.snapshot()
    assert after["offset"] == before["offset"] and after["beds"] == before["beds"]
    assert fhir_site.changes_audited() == audit_before
    events = fhir_site.c.get(f"/api/wards/{WARD}/events", params={"since": before["offset"]},
                             headers=fhir_site.as_("admin")).json()  # fmt: skip
    assert events["events"] == []


@pytest.mark.parametrize(
    ("body", "role", "headers", "status", "code"),
    [
        (None, "viewer", {}, 403, "forbidden"),
        (None, "other_nurse", {}, 403, "forbidden"),
        (b"{not json", "nurse", {}, 400, "invalid"),
        (None, "nurse", {"Content-Type": "text/plain"}, 415, "not-supported"),
        ({"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Patient",
          "birthDate": "soon"}, "request": {"method": "POST", "url": "Patient"}}]}, "nurse", {}, 400, "structure"),
        (b"[" + b"1," * 200_000 + b"1]", "nurse", {}, 413, "too-costly"),
    ],
)  # fmt: skip
def test_refused_transactions_are_operation_outcomes(
    fhir_site: FhirSite, body: Any, role: str, headers: dict[str, str], status: int, code: str
) -> None:
    before = fhir_site.snapshot(OTHER)["offset"], fhir_site.snapshot()["offset"]
    refused = fhir_site.metric("whiteboard_writes_total", outcome=f"refused_{code}")
    payload = body if body is not None else transaction(bed_state(f"{WARD}.B2", "C"))
    kwargs: dict[str, Any] = {"content": payload} if isinstance(payload, bytes) else {"json": payload}
    r = fhir_site.c.post("/fhir", headers={**fhir_site.as_(role), **headers}, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert assert_r4(r.json())["issue"][0]["code"] == code
    assert (fhir_site.snapshot(OTHER)["offset"], fhir_site.snapshot()["offset"]) == before
    assert fhir_site.metric("whiteboard_writes_total", outcome=f"refused_{code}") == refused + 1  # counted once


def test_an_encounter_in_another_bed_is_a_transfer(fhir_site: FhirSite) -> None:
    [ada] = fhir_site.get("/fhir/Patient", name="ada").json()["entry"]
    ada_id = ada["resource"]["id"]
    moved = fhir_site.post(transaction(encounter(f"Patient/{ada_id}", f"{WARD}.B3")))
    assert moved.status_code == 200, moved.text
    assert effects(moved.json()) == [("200 OK", "changed")]
    beds = {b["id"]: b for b in fhir_site.snapshot()["beds"]}
    assert beds["B1"]["patient"] is None and beds["B1"]["status"] == "cleaning"
    assert beds["B3"]["patient"]["name"] == "Ada Lovelace" and beds["B3"]["patient"]["news2"] is not None
    # The same patient and stay, now in B3: ids do not move with the bed.
    [stay] = fhir_site.get("/fhir/Encounter", patient=f"Patient/{ada_id}").json()["entry"]
    assert stay["resource"]["location"][0]["location"]["reference"] == f"Location/{WARD}.B3"
    assert sorted(a["action"] for a in fhir_site.audit() if a["source"] == "fhir") == [
        "patient.transferred_in", "patient.transferred_out"]  # fmt: skip
    # Into an occupied bed: refused whole (the write path's 409), nothing moves.
    alan = transaction(patient("urn:uuid:z", "Alan Turing"), encounter("urn:uuid:z", f"{WARD}.B2"))
    assert fhir_site.post(alan).status_code == 200
    busy = fhir_site.post(transaction(bed_state(f"{WARD}.B4", "C"), encounter(f"Patient/{ada_id}", f"{WARD}.B2")))
    assert busy.status_code == 409, busy.text
    assert assert_r4(busy.json())["issue"][0]["code"] == "conflict"
    beds = {b["id"]: b for b in fhir_site.snapshot()["beds"]}
    assert beds["B3"]["patient"]["name"] == "Ada Lovelace" and beds["B4"]["status"] == "empty"


def test_a_fhir_transfer_takes_the_notes_and_a_discharge_clears_them(fhir_site: FhirSite) -> None:
    """Hazard H60 over FHIR: the same write path as the API's, so the same notes rule."""
    note = "Ada: daughter calling at 3"
    r = fhir_site.c.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": note}, headers=fhir_site.as_("nurse"))
    assert r.status_code == 200, r.text
    [ada] = fhir_site.get("/fhir/Patient", name="ada").json()["entry"]
    ref = f"Patient/{ada['resource']['id']}"
    assert fhir_site.post(transaction(encounter(ref, f"{WARD}.B3"))).status_code == 200
    beds = {b["id"]: b for b in fhir_site.snapshot()["beds"]}
    assert (beds["B1"]["notes"], beds["B3"]["notes"]) == ("", note)
    assert fhir_site.post(transaction(encounter(ref, f"{WARD}.B3", "finished"))).status_code == 200
    assert {b["id"]: b for b in fhir_site.snapshot()["beds"]}["B3"]["notes"] == ""
    [discharged] = [a for a in fhir_site.audit() if a["action"] == "patient.discharged"]
    assert discharged["before"]["notes"] == note and discharged["source"] == "fhir"


def test_a_resent_bundle_admits_nobody_twice(fhir_site: FhirSite) -> None:
    """Grace (with her NHS number) is found in her bed and merely updated; Alan (without one) cannot be told apart
    from a new patient, and B3 is taken: the resend is refused whole, and nobody is admitted twice."""
    assert fhir_site.post(admit_two()).status_code == 200
    before = fhir_site.snapshot()
    again = fhir_site.post(admit_two())
    assert again.status_code == 422 and assert_r4(again.json())["issue"][0]["expression"] == ["Bundle.entry[4]"]
    assert fhir_site.snapshot()["offset"] == before["offset"]
    grace_only = fhir_site.post(transaction(*admit_two()["entry"][:3]))
    assert grace_only.status_code == 200
    assert effects(grace_only.json()) == [("200 OK", "unchanged")] * 3
    names = [b["patient"]["name"] for b in fhir_site.snapshot()["beds"] if b["patient"]]
    assert sorted(names) == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
