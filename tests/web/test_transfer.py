"""`POST .../beds/{bed}/transfer` and `.../swap` in-process, on the embedded default and on PostgreSQL + Redis:
both wards' snapshots follow at once, the answer names both beds, and every refusal is the contract's 4xx with
nothing written on either ward."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings

A, B = "ward-from", "ward-to"
PATIENT = {"name": "Mary Seacole", "nhs_number": "9434765919", "date_of_birth": "1935-03-14", "flags": ["falls"]}


class Site:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.c = client
        self.tokens = tokens

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def beds(self, ward: str, who: str = "admin") -> dict[str, Any]:
        r = self.c.get(f"/api/wards/{ward}", headers=self.as_(who))
        assert r.status_code == 200, r.text
        return {b["id"]: b for b in r.json()["beds"]}

    def move(self, bed: str, body: Any, who: str = "nurse", op: str = "transfer", **headers: str) -> Any:
        return self.c.post(f"/api/wards/{A}/beds/{bed}/{op}", json=body, headers={**self.as_(who), **headers})

    def changes(self) -> int:
        records = self.c.get("/api/audit", headers=self.as_("admin")).json()
        return sum(1 for r in records if not r["action"].startswith("read."))


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    app = create_app(settings)
    with TestClient(app) as client:
        store = app.state.wb.store
        run = portal_runner(client)
        run(store.add_wards([(w, w, [(f"B{i}", "Bay 1") for i in range(1, 4)]) for w in (A, B)], actor=SETUP))
        tokens = {}
        for who, role, wards in [("admin", "admin", None), ("nurse", "nurse", (A, B)), ("nurse_a", "nurse", (A,)),
                                 ("viewer", "viewer", (A, B)), ("display_b", "display", (B,))]:  # fmt: skip
            tokens[who] = run(store.create_credential(role, wards, who, actor=SETUP))[1]
        s = Site(client, tokens)
        r = client.patch(f"/api/wards/{A}/beds/B1", json={"patient": PATIENT}, headers=s.as_("admin"))
        assert r.status_code == 200, r.text
        yield s


def test_a_transfer_to_another_ward_moves_the_patient_on_both_boards(site: Site) -> None:
    r = site.move("B1", {"to_ward": B, "to_bed": "B2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["event"]["kind"] == "patient.transferred_out" and body["event"]["to"] == {"ward": B, "bed": "B2"}
    assert body["to"]["event"]["kind"] == "patient.transferred_in"
    assert body["to"]["ward"] == B and body["to"]["bed"] == "B2" and body["to"]["offset"] == "1-0"
    assert r.headers["etag"].startswith(f'"bed-{body["version"]}.')
    source, target = site.beds(A), site.beds(B)  # read-your-writes on both wards
    assert source["B1"]["patient"] is None and source["B1"]["status"] == "cleaning"
    assert target["B2"]["patient"]["name"] == "Mary Seacole" and target["B2"]["patient"]["flags"] == ["falls"]
    assert target["B2"]["status"] == "occupied" and target["B2"]["version"] == body["to"]["version"]
    shown = site.beds(B, "display_b")["B2"]["patient"]
    assert shown["initials"] == "M.S." and "name" not in shown and "nhs_number" not in shown
    actions = [(r["action"], r["ward"], r["bed"]) for r in site.c.get("/api/audit", headers=site.as_("admin")).json()]
    assert ("patient.transferred_out", A, "B1") in actions and ("patient.transferred_in", B, "B2") in actions


def test_a_transfer_within_the_ward_and_a_swap(site: Site) -> None:
    r = site.move("B1", {"to_bed": "B3"})
    assert r.status_code == 200, r.text
    assert r.json()["event"]["kind"] == "patient.transferred" and "event" not in r.json()["to"]
    assert site.beds(A)["B3"]["patient"]["name"] == "Mary Seacole"
    site.c.patch(f"/api/wards/{A}/beds/B2", json={"patient": {"name": "Ada Lovelace"}}, headers=site.as_("admin"))
    r = site.move("B3", {"to_bed": "B2"}, op="swap")
    assert r.status_code == 200, r.text
    after = site.beds(A)
    assert after["B3"]["patient"]["name"] == "Ada Lovelace" and after["B2"]["patient"]["name"] == "Mary Seacole"


def test_the_next_patient_in_a_bed_never_sees_the_last_ones_notes(site: Site) -> None:
    """Hazard H60 through the API: notes go with Mary to her new bed and are gone when she is discharged."""
    note = "Mary: daughter calling at 3, for CT head"
    r = site.c.patch(f"/api/wards/{A}/beds/B1", json={"notes": note}, headers=site.as_("nurse"))
    assert r.status_code == 200, r.text
    assert site.move("B1", {"to_ward": B, "to_bed": "B2"}).status_code == 200
    assert site.beds(A)["B1"]["notes"] == "" and site.beds(B)["B2"]["notes"] == note
    assert "notes" not in site.beds(B, "display_b")["B2"]
    r = site.c.patch(f"/api/wards/{B}/beds/B2", json={"patient": None}, headers=site.as_("nurse"))
    assert r.status_code == 200, r.text
    assert r.json()["event"]["changes"]["notes"] == "" and site.beds(B)["B2"]["notes"] == ""
    site.c.patch(f"/api/wards/{B}/beds/B2", json={"status": "empty"}, headers=site.as_("nurse"))
    r = site.c.patch(f"/api/wards/{B}/beds/B2", json={"patient": {"name": "Ada Lovelace"}}, headers=site.as_("nurse"))
    assert r.status_code == 200, r.text
    assert site.beds(B)["B2"]["patient"]["name"] == "Ada Lovelace" and site.beds(B)["B2"]["notes"] == ""
    records = site.c.get("/api/audit", headers=site.as_("admin")).json()
    [discharged] = [x for x in records if x["action"] == "patient.discharged" and x["ward"] == B]
    assert discharged["before"]["notes"] == note and discharged["after"]["notes"] == ""  # nothing lost


def test_versions_are_judged_per_bed(site: Site) -> None:
    seen = site.beds(A)["B1"]["version"]
    target = site.beds(B)["B2"]["version"]
    site.c.patch(f"/api/wards/{B}/beds/B2", json={"notes": "new mattress"}, headers=site.as_("admin"))
    stale = site.move("B1", {"to_ward": B, "to_bed": "B2", "to_version": target}, **{"If-Match": f'"bed-{seen}"'})
    assert stale.status_code == 412 and "to_version" in stale.json()["error"]["message"]
    fresh = site.beds(B)["B2"]["version"]
    r = site.move("B1", {"to_ward": B, "to_bed": "B2", "to_version": fresh}, **{"If-Match": f'"bed-{seen}"'})
    assert r.status_code == 200, r.text
    assert site.move("B1", {"to_bed": "B3"}, **{"If-Match": f'"bed-{seen}"'}).status_code == 412


@pytest.mark.parametrize(
    ("who", "op", "bed", "body", "status", "code"),
    [
        ("nurse", "transfer", "B1", {"to_ward": B, "to_bed": "B1"}, 409, "bed_occupied"),
        ("nurse", "transfer", "B1", {"to_ward": B, "to_bed": "B3"}, 409, "bed_not_ready"),
        ("nurse", "transfer", "B1", {"to_ward": B, "to_bed": "B9"}, 404, "not_found"),
        ("admin", "transfer", "B1", {"to_ward": "ward-none", "to_bed": "B1"}, 404, "not_found"),
        ("nurse", "transfer", "B2", {"to_ward": B, "to_bed": "B2"}, 422, "no_patient"),
        ("nurse", "transfer", "B1", {"to_bed": "B1"}, 422, "same_bed"),
        ("nurse", "transfer", "B1", {"to_ward": B}, 422, "invalid"),
        ("nurse", "transfer", "B1", {"to_bed": "B2", "bed": "B3"}, 422, "unknown_field"),
        ("nurse", "swap", "B1", {"to_bed": "B2"}, 422, "no_patient"),
        ("nurse_a", "transfer", "B1", {"to_ward": B, "to_bed": "B2"}, 403, "forbidden"),
        ("viewer", "transfer", "B1", {"to_bed": "B2"}, 403, "forbidden"),
    ],
)
def test_refusals_write_nothing(site: Site, who: str, op: str, bed: str, body: Any, status: int, code: str) -> None:
    site.c.patch(f"/api/wards/{B}/beds/B1", json={"patient": {"name": "Alan Turing"}}, headers=site.as_("admin"))
    site.c.patch(f"/api/wards/{B}/beds/B3", json={"status": "cleaning"}, headers=site.as_("admin"))
    before, count = (site.beds(A), site.beds(B)), site.changes()
    r = site.move(bed, body, who=who, op=op)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert (site.beds(A), site.beds(B)) == before and site.changes() == count


def test_malformed_bodies_are_400(site: Site) -> None:
    r = site.c.post(f"/api/wards/{A}/beds/B1/transfer", content=b"{nope", headers=site.as_("nurse"))
    assert r.status_code == 400
