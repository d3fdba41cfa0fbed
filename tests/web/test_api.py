"""The HTTP API in-process (Starlette's TestClient runs the real lifespan), on the embedded default and on
PostgreSQL + Redis: the contract's answers, its error table, and "nothing written" after every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings

WARD = "ward-api"
PATIENT = {
    "name": "Mary Seacole",
    "nhs_number": "9434765919",
    "date_of_birth": "1935-03-14",
    "named_nurse": "RN Kofi Mensah",
    "flags": ["falls", "dnacpr"],
    "tasks": [{"kind": "bloods", "text": "FBC for Mary"}, {"kind": "tto", "text": "TTO", "done": True}],
}


# `settings` (embedded and PostgreSQL + Redis) is a fixture of tests/conftest.py.


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.c = client
        self.tokens = tokens

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def snapshot(self, role: str = "admin") -> dict[str, Any]:
        r = self.c.get(f"/api/wards/{WARD}", headers=self.as_(role))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def patch(self, bed: str, body: Any, role: str = "nurse", **headers: str) -> Any:
        return self.c.patch(f"/api/wards/{WARD}/beds/{bed}", json=body, headers={**self.as_(role), **headers})

    def audit_count(self) -> int:
        """Records of changes (reads are audited too, and the checks themselves read)."""
        records = self.c.get("/api/audit", params={"ward": WARD}, headers=self.as_("admin")).json()
        return sum(1 for r in records if not r["action"].startswith("read."))


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    app = create_app(settings)
    with TestClient(app) as client:
        store = app.state.wb.store
        run = portal_runner(client)

        run(store.add_wards([(WARD, "Ward API", [(f"B{i}", "Bay 1") for i in range(1, 5)])], actor=SETUP))
        run(store.add_wards([("ward-other", "Other", [("B1", "Bay 1")])], actor=SETUP))
        tokens = {}
        for role, wards in [
            ("admin", None),
            ("nurse", (WARD,)),
            ("display", (WARD,)),
            ("viewer", (WARD,)),
            ("ops", None),
            ("other_nurse", ("ward-other",)),
            ("manager", (WARD,)),
        ]:
            real_role = {"other_nurse": "nurse", "manager": "ward_manager"}.get(role, role)
            tokens[role] = run(store.create_credential(real_role, wards, f"test {role}", actor=SETUP))[1]
        yield Api(client, tokens)


def test_health_and_readiness(api: Api) -> None:
    assert api.c.get("/healthz").json() == {"status": "ok"}
    ready = api.c.get("/readyz").json()
    assert ready["status"] == "ready" and set(ready["checks"]) == {"database", "eventlog"}
    # One probe answers /readyz and the ops page: the same checks, each with its round trip.
    ops = api.c.get("/api/ops", headers=api.as_("ops")).json()["health"]
    for key, check in ready["checks"].items():
        assert check["status"] == "ok" and check["ping_ms"] >= 0
        assert (
            set(check) == set(ops[key]) == {"backend", "status", "ping_ms"} and check["backend"] == ops[key]["backend"]
        )


def test_wards_list_only_what_the_credential_covers(api: Api) -> None:
    assert [w["id"] for w in api.c.get("/api/wards", headers=api.as_("nurse")).json()] == [WARD]
    assert {w["id"] for w in api.c.get("/api/wards", headers=api.as_("admin")).json()} == {WARD, "ward-other"}
    assert api.c.get("/api/wards", headers=api.as_("ops")).status_code == 403


def test_patch_then_snapshot_etag_and_304(api: Api) -> None:
    r = api.patch("B1", {"patient": PATIENT, "notes": "Daughter visiting"})
    assert r.status_code == 200, r.text
    assert r.json()["offset"] == "1-0" and r.json()["event"]["kind"] == "patient.admitted"
    first = api.c.get(f"/api/wards/{WARD}", headers=api.as_("nurse"))
    etag = first.headers["etag"]
    bed = first.json()["beds"][0]
    assert (
        bed["status"] == "occupied" and bed["patient"]["name"] == "Mary Seacole" and bed["notes"] == "Daughter visiting"
    )
    again = api.c.get(f"/api/wards/{WARD}", headers={**api.as_("nurse"), "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    for listed in (f"W/{etag}", f'"other", {etag}', "*"):  # weak, in a list, or any: one parser reads them all
        assert api.c.get(f"/api/wards/{WARD}", headers={**api.as_("nurse"), "If-None-Match": listed}).status_code == 304
    api.patch("B2", {"notes": "moved on"})
    assert api.c.get(f"/api/wards/{WARD}", headers={**api.as_("nurse"), "If-None-Match": etag}).status_code == 200


def test_if_match_stale_is_412_and_writes_nothing(api: Api) -> None:
    etag = api.c.get(f"/api/wards/{WARD}", headers=api.as_("nurse")).headers["etag"]
    assert api.patch("B1", {"notes": "one"}, **{"If-Match": etag}).status_code == 200
    before = api.snapshot()
    stale = api.patch("B1", {"notes": "two"}, **{"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert api.snapshot() == before


def test_if_match_is_judged_per_bed(api: Api) -> None:
    """An edit to B1 never makes a save on B2 stale; an edit to B2 does (with B2's version or a ward ETag)."""
    snap = api.c.get(f"/api/wards/{WARD}", headers=api.as_("nurse"))
    ward_etag = snap.headers["etag"]
    b2 = next(b for b in snap.json()["beds"] if b["id"] == "B2")
    assert b2["version"] == 0
    b2_tag = f'"bed-{b2["version"]}"'
    first = api.patch("B1", {"notes": "B1 moved on"})
    assert first.status_code == 200 and first.json()["version"] == 1
    saved = api.patch("B2", {"notes": "mine"}, **{"If-Match": b2_tag})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2 and saved.headers["etag"].startswith('"bed-2.')
    assert next(b for b in api.snapshot()["beds"] if b["id"] == "B2")["version"] == 2
    # B2 has changed since (our own save): its old version and the old ward ETag are both stale for it now.
    before = api.snapshot()
    for stale_tag in (b2_tag, ward_etag):
        stale = api.patch("B2", {"notes": "theirs"}, **{"If-Match": stale_tag})
        assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed", stale_tag
    assert api.snapshot() == before
    # The write's own ETag is current until B2 changes again, whatever happens to B1 (weak or not).
    assert api.patch("B1", {"notes": "B1 again"}).status_code == 200
    again = api.patch("B2", {"notes": "mine, later"}, **{"If-Match": "W/" + saved.headers["etag"]})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize(
    "tag",
    ['"bed-x"', '"bed-1.zzzzzzzz"', '"bed-"', '"7"', '"bed-1."', '"bed-' + "9" * 5000 + '"', '"' + "9" * 30 + '.a"'],
)
def test_if_match_that_names_no_version_is_412(api: Api, tag: str) -> None:
    r = api.patch("B3", {"notes": "x"}, **{"If-Match": tag})
    assert r.status_code == 412 and r.json()["error"]["code"] == "precondition_failed"
    assert next(b for b in api.snapshot()["beds"] if b["id"] == "B3")["notes"] == ""


def test_a_name_alone_never_changes_the_patient_on_an_occupied_bed(api: Api) -> None:
    """Hazard H15: the new name would inherit the previous patient's NHS number, DOB and consultant."""
    assert api.patch("B2", {"patient": {**PATIENT, "consultant": "Dr Okafor"}}).status_code == 200
    before = api.snapshot()
    audited = api.audit_count()
    for identity in ({"name": "New Person"}, {"nhs_number": "9434765870"}, {"date_of_birth": "1990-01-01"}):
        r = api.patch("B2", {"status": "occupied", "patient": identity})
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "patient_identity_change" and "discharge or transfer" in err["message"]
    assert api.snapshot() == before and api.audit_count() == audited
    # An explicit admission replaces the whole record: nothing of Mary Seacole's stays with the new patient.
    r = api.patch("B2", {"admit": True, "patient": {"name": "New Person"}})
    assert r.status_code == 200 and r.json()["event"]["kind"] == "patient.admitted"
    p = next(b for b in api.snapshot()["beds"] if b["id"] == "B2")["patient"]
    assert p["name"] == "New Person" and p["initials"] == "N.P."
    assert (p["nhs_number"], p["date_of_birth"], p["consultant"], p["flags"], p["tasks"]) == (None, None, None, [], [])
    assert api.audit_count() == audited + 1


def test_display_sees_the_similar_name_warning_but_no_names(api: Api) -> None:
    """B1 and B4 both "A.W.": both flagged for a display, live and in replays; a discharge clears the other too."""
    assert api.patch("B1", {"patient": {"name": "Alice Walker", "nhs_number": "9434765919"}}).status_code == 200
    assert api.patch("B3", {"patient": {"name": "John Smith"}}).status_code == 200
    assert api.patch("B4", {"patient": {"name": "Arthur Wells"}}).status_code == 200

    def flags(role: str) -> dict[str, bool]:
        return {b["id"]: b["similar_name"] for b in api.snapshot(role)["beds"]}

    assert flags("display") == flags("nurse") == {"B1": True, "B2": False, "B3": False, "B4": True}
    shown = api.c.get(f"/api/wards/{WARD}", headers=api.as_("display")).text
    for secret in ("Alice", "Walker", "Arthur", "Wells", "9434765919"):
        assert secret not in shown
    events = api.c.get(f"/api/wards/{WARD}/events", params={"since": "0-0"}, headers=api.as_("display"))
    assert events.status_code == 200
    assert events.json()["events"][-1]["event"]["similar_name"] == {"B1": True, "B4": True}
    assert "Walker" not in events.text and "Wells" not in events.text
    assert api.patch("B4", {"patient": None}).status_code == 200  # Arthur Wells goes home
    assert flags("display") == {"B1": False, "B2": False, "B3": False, "B4": False}
    last = api.c.get(f"/api/wards/{WARD}/events", params={"since": "3-0"}, headers=api.as_("display")).json()
    assert last["events"][-1]["event"]["similar_name"] == {"B1": False, "B4": False}


def test_display_never_sees_identifiers_or_notes(api: Api) -> None:
    api.patch("B1", {"patient": PATIENT, "notes": "Daughter visiting"})
    snap = api.snapshot("display")
    text = str(snap)
    for secret in ("Mary", "Seacole", "9434765919", "1935-03-14", "Daughter", "dnacpr", "FBC for Mary"):
        assert secret not in text
    patient = snap["beds"][0]["patient"]
    assert patient["initials"] == "M.S." and patient["named_nurse"] == "RN Kofi Mensah"
    assert patient["flags"] == ["falls"] and patient["tasks_pending"] == 1
    assert "notes" not in snap["beds"][0]
    events = api.c.get(f"/api/wards/{WARD}/events", params={"since": "0-0"}, headers=api.as_("display")).json()
    assert "Seacole" not in str(events) and "Daughter" not in str(events)
    staff_events = api.c.get(f"/api/wards/{WARD}/events", params={"since": "0-0"}, headers=api.as_("viewer")).json()
    assert staff_events["events"][0]["event"]["changes"]["patient"]["name"] == "Mary Seacole"


def test_display_profile_is_configurable_but_never_identifying(api: Api) -> None:
    api.patch("B1", {"patient": PATIENT})
    url = f"/api/wards/{WARD}/display-profile"
    assert api.c.get(url, headers=api.as_("display")).status_code == 403
    assert api.c.put(url, json={"fields": ["initials"]}, headers=api.as_("manager")).status_code == 403
    bad = api.c.put(url, json={"fields": ["initials", "name"]}, headers=api.as_("admin"))
    assert bad.status_code == 422 and "never shown" in bad.json()["error"]["message"]
    ok = api.c.put(url, json={"fields": ["initials", "age"]}, headers=api.as_("admin"))
    assert ok.status_code == 200 and ok.json()["fields"] == ["age", "initials"]
    assert set(api.snapshot("display")["beds"][0]["patient"]) == {"initials", "age"}
    api.c.put(url, json={"fields": None}, headers=api.as_("admin"))
    assert "named_nurse" in api.snapshot("display")["beds"][0]["patient"]


def test_observations_compute_news2_through_the_write_path(api: Api) -> None:
    obs = {
        "respiration_rate": 26,
        "spo2": 95,
        "spo2_scale": 1,
        "on_oxygen": False,
        "systolic_bp": 120,
        "pulse": 80,
        "consciousness": "A",
        "temperature": 37.0,
    }
    url = f"/api/wards/{WARD}/beds/B1/observations"
    nobody = api.c.post(url, json=obs, headers=api.as_("nurse"))
    assert nobody.status_code == 422 and nobody.json()["error"]["code"] == "no_patient"
    api.patch("B1", {"patient": {"name": "Obs Test"}})
    r = api.c.post(url, json=obs, headers=api.as_("nurse"))
    assert r.status_code == 200, r.text
    news = r.json()["news2"]
    assert (news["score"], news["red_score"], news["risk"]) == (4, True, "low-medium")
    assert api.snapshot()["beds"][0]["patient"]["news2"]["score"] == 4
    bad = api.c.post(url, json={**obs, "spo2": "high"}, headers=api.as_("nurse"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "spo2"


def test_audit_records_every_change_with_who_and_what(api: Api) -> None:
    api.patch("B3", {"status": "blocked", "notes": "Broken bed"})
    records = api.c.get("/api/audit", params={"ward": WARD, "bed": "B3"}, headers=api.as_("manager")).json()
    [rec] = records
    assert rec["actor"] == "test nurse" and rec["role"] == "nurse" and rec["action"] == "bed.updated"
    assert rec["before"] == {"status": "empty", "notes": ""}
    assert rec["after"] == {"status": "blocked", "notes": "Broken bed"}
    assert api.c.get("/api/audit", headers=api.as_("nurse")).status_code == 403
    assert api.c.get("/api/audit", params={"ward": "ward-other"}, headers=api.as_("manager")).status_code == 403
    assert api.c.get("/api/audit", params={"since": "last tuesday"}, headers=api.as_("admin")).status_code == 400


def test_reads_of_identifiable_data_are_audited_but_not_a_displays(api: Api) -> None:
    api.patch("B1", {"patient": PATIENT})
    api.snapshot("viewer")
    api.snapshot("display")
    api.c.get(f"/api/wards/{WARD}/events", params={"since": "0-0"}, headers=api.as_("nurse"))
    reads = [
        (r["actor"], r["action"])
        for r in api.c.get("/api/audit", params={"ward": WARD}, headers=api.as_("admin")).json()
        if r["action"].startswith("read.")
    ]
    assert ("test viewer", "read.snapshot") in reads and ("test nurse", "read.events") in reads
    assert not any(actor == "test display" for actor, _ in reads)


def test_audit_filters_by_person_and_exports_csv(api: Api) -> None:
    import csv
    import io

    api.patch("B1", {"notes": "by the nurse"})
    api.patch("B2", {"notes": "by the admin"}, role="admin")
    mine = api.c.get("/api/audit", params={"person": "test nurse"}, headers=api.as_("admin")).json()
    assert [r["after"]["notes"] for r in mine] == ["by the nurse"]
    r = api.c.get("/api/audit", params={"ward": WARD, "format": "csv"}, headers=api.as_("manager"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["actor"] for row in rows} >= {"test nurse", "test admin"}
    assert all(len(row["hash"]) == 64 for row in rows)
    assert api.c.get("/api/audit", params={"format": "xml"}, headers=api.as_("admin")).status_code == 400


# --- the error table: each case gets its status and error body, and writes nothing ---

BAD_PATCHES: list[tuple[str, Any, int, str, str | None]] = [
    ("wrong type", {"notes": 5}, 422, "wrong_type", "notes"),
    ("unknown field", {"colour": "red"}, 422, "unknown_field", "colour"),
    ("unknown status", {"status": "on fire"}, 422, "unknown_value", "status"),
    ("notes too long", {"notes": "x" * 501}, 422, "too_long", "notes"),
    ("patient on closed bed", {"status": "closed", "patient": {"name": "A B"}}, 422, "conflict", "status"),
    ("occupied without patient", {"status": "occupied"}, 422, "conflict", "patient"),
    ("bad NHS number", {"patient": {"name": "A B", "nhs_number": "1234567890"}}, 422, "invalid", "patient.nhs_number"),
    ("unknown patient field", {"patient": {"name": "A B", "shoe_size": 9}}, 422, "unknown_field", "patient.shoe_size"),
    ("bad flag", {"patient": {"name": "A B", "flags": ["vip"]}}, 422, "unknown_value", "patient.flags"),
    ("bad date", {"patient": {"name": "A B", "edd": "soon"}}, 422, "wrong_type", "patient.edd"),
    ("not an object", [1, 2], 422, "wrong_type", None),
    ("empty object", {}, 422, "empty", None),
    ("discharge nobody", {"patient": None}, 422, "no_patient", "patient"),
]


@pytest.mark.parametrize(("case", "body", "status", "code", "field"), BAD_PATCHES, ids=[c[0] for c in BAD_PATCHES])
def test_bad_bodies_are_refused_and_write_nothing(
    api: Api, case: str, body: Any, status: int, code: str, field: str | None
) -> None:
    before, audits = api.snapshot(), api.audit_count()
    r = api.patch("B1", body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err.get("field") == field and err["message"]
    assert api.snapshot() == before and api.audit_count() == audits


def raw_patch(api: Api, content: bytes, headers: dict[str, str] | None = None, role: str = "nurse") -> Any:
    return api.c.patch(f"/api/wards/{WARD}/beds/B1", content=content, headers={**api.as_(role), **(headers or {})})


def test_malformed_and_oversized_bodies(api: Api) -> None:
    before = api.snapshot()
    malformed = raw_patch(api, b'{"notes": ')
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed"
    assert raw_patch(api, b"").status_code == 400
    big = raw_patch(api, b'{"notes": "' + b"x" * 10_000 + b'"}')
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while reading
        yield b'{"notes": "'
        for _ in range(100):
            yield b"y" * 100
        yield b'"}'

    chunked = api.c.patch(f"/api/wards/{WARD}/beds/B1", content=chunks(), headers=api.as_("nurse"))
    assert chunked.status_code == 413
    assert api.snapshot() == before


CREDENTIAL_CASES: list[tuple[str, str | None, str, str, int]] = [
    ("no credential", None, "PATCH", f"/api/wards/{WARD}/beds/B1", 401),
    ("forged token", "wbt_forged", "PATCH", f"/api/wards/{WARD}/beds/B1", 401),
    ("display writes", "display", "PATCH", f"/api/wards/{WARD}/beds/B1", 403),
    ("viewer writes", "viewer", "PATCH", f"/api/wards/{WARD}/beds/B1", 403),
    ("other ward's nurse", "other_nurse", "PATCH", f"/api/wards/{WARD}/beds/B1", 403),
    ("other ward's nurse reads", "other_nurse", "GET", f"/api/wards/{WARD}", 403),
    ("ops reads a ward", "ops", "GET", f"/api/wards/{WARD}", 403),
    ("unknown ward", "admin", "PATCH", "/api/wards/nope/beds/B1", 404),
    ("unknown bed", "nurse", "PATCH", f"/api/wards/{WARD}/beds/B99", 404),
    ("no credential for metrics", None, "GET", "/metrics", 401),
    ("nurse reads metrics", "nurse", "GET", "/metrics", 403),
    ("ops reads metrics", "ops", "GET", "/metrics", 200),
]


@pytest.mark.parametrize(
    ("case", "who", "method", "url", "status"), CREDENTIAL_CASES, ids=[c[0] for c in CREDENTIAL_CASES]
)
def test_credentials_and_scopes(api: Api, case: str, who: str | None, method: str, url: str, status: int) -> None:
    before = api.snapshot()
    headers = {} if who is None else {"Authorization": f"Bearer {api.tokens.get(who, who)}"}
    r = api.c.request(method, url, json={"notes": "x"} if method == "PATCH" else None, headers=headers)
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.json()["error"]["code"]
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.snapshot() == before


def test_cookie_writes_need_the_client_header(api: Api) -> None:
    api.c.cookies.set("wb_session", api.tokens["nurse"])
    try:
        no_header = api.c.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "csrf?"})
        assert no_header.status_code == 403 and no_header.json()["error"]["code"] == "csrf"
        ok = api.c.patch(
            f"/api/wards/{WARD}/beds/B1", json={"notes": "phone"}, headers={"X-Whiteboard-Client": "phone"}
        )
        assert ok.status_code == 200
    finally:
        api.c.cookies.clear()


@pytest.mark.parametrize("query", ["since=abc", "since=1-x", "since=-1-0", "limit=0", "limit=ten", "limit=100000"])
def test_bad_event_queries_are_400(api: Api, query: str) -> None:
    r = api.c.get(f"/api/wards/{WARD}/events?{query}", headers=api.as_("nurse"))
    assert r.status_code == 400 and r.json()["error"]["field"] in {"since", "limit"}


def test_revoked_credential_is_refused_after_the_cache(settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings.replace(credential_cache_secs=0.0))
    with TestClient(app) as client:
        store = app.state.wb.store
        run = portal_runner(client)
        run(store.add_wards([("w1", "W1", [("B1", "Bay")])], actor=SETUP))
        cred_id, token = run(store.create_credential("nurse", ("w1",), "revokee", actor=SETUP))
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/wards/w1", headers=headers).status_code == 200
        assert run(store.revoke_credential(cred_id, SETUP))
        assert client.get("/api/wards/w1", headers=headers).status_code == 401


def test_readyz_names_the_backend_that_is_down(tmp_path: Path) -> None:
    from tests.support import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", redis_url=dead))
    with TestClient(app) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["checks"]["eventlog"]["status"] == "down" and body["checks"]["database"]["status"] == "ok"
        assert "eventlog (redis)" in body["error"]["message"]
        assert body["checks"]["eventlog"]["error"].startswith(
            ("ConnectionError", "EventLogUnavailable", "TimeoutError")
        )
        registry = app.state.wb.metrics.registry
        assert registry.get_sample_value("whiteboard_backend_up", {"backend": "eventlog"}) == 0
        # Writes are still taken: durable in the database, waiting in the outbox for the log to return.
        store = app.state.wb.store
        run = portal_runner(client)
        run(store.add_wards([("w1", "W1", [("B1", "Bay")])], actor=SETUP))
        token = run(store.create_credential("nurse", ("w1",), "n", actor=SETUP))[1]
        r = client.patch(
            "/api/wards/w1/beds/B1", json={"notes": "log down"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200 and r.json()["offset"] == "1-0"
        assert [row.seq for row in run(store.outbox_rows("w1", 0, 10))] == [1]
        snapshot = client.get("/api/wards/w1", headers={"Authorization": f"Bearer {token}"})
        assert snapshot.status_code == 503 and snapshot.json()["error"]["code"] == "unavailable"


def test_writes_are_rate_limited_per_credential(settings: Settings) -> None:
    app = create_app(settings.replace(write_rate_per_min=60, write_burst=3))
    with TestClient(app) as client:
        run = portal_runner(client)
        store = app.state.wb.store
        run(store.add_wards([("w1", "W1", [("B1", "Bay")])], actor=SETUP))
        headers = {"Authorization": f"Bearer {run(store.create_credential('nurse', ('w1',), 'n', actor=SETUP))[1]}"}
        other = {"Authorization": f"Bearer {run(store.create_credential('nurse', ('w1',), 'n2', actor=SETUP))[1]}"}
        answers = [client.patch("/api/wards/w1/beds/B1", json={"notes": f"n{i}"}, headers=headers) for i in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[3].json()["error"]["code"] == "rate_limited" and int(answers[3].headers["retry-after"]) >= 1
        assert client.patch("/api/wards/w1/beds/B1", json={"notes": "other"}, headers=other).status_code == 200


def every_answer(api: Api) -> list[tuple[str, str, Any]]:
    """One answer per route and method of the app (from its route table, so a new route is covered too), as
    admin and anonymously, plus the error answers that no route gives: unknown path, wrong method, static."""
    from starlette.routing import Mount, Route

    from whiteboard.web.routes import routes

    answers: list[tuple[str, str, Any]] = []
    for route in routes():
        if isinstance(route, Mount):
            continue
        if not isinstance(route, Route):
            continue  # the WebSocket: its answer is a 101 or a close, no HTTP headers of ours
        path = route.path.replace("{ward}", WARD).replace("{bed}", "B1")
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            for who in ("admin", None):
                headers = api.as_(who) if who else {}
                body: dict[str, object] | None = {} if method in {"POST", "PUT", "PATCH"} else None
                r = api.c.request(method, path, headers=headers, json=body, follow_redirects=False)
                answers.append((method, path, r))
    for method, path in [("GET", "/no/such/page"), ("DELETE", f"/api/wards/{WARD}"), ("GET", "/static/css/board.css"),
                         ("GET", "/static/css/nope.css"), ("GET", f"/api/wards/{WARD}/events?since=x")]:  # fmt: skip
        answers.append((method, path, api.c.request(method, path, headers=api.as_("admin"))))
    return answers


def test_security_headers_on_every_answer(api: Api) -> None:
    answers = every_answer(api)
    statuses = {r.status_code for _, _, r in answers}
    assert len(answers) > 40 and {200, 303, 401, 404, 405} <= statuses  # successes, redirects and refusals alike
    for method, path, r in answers:
        where = f"{method} {path} -> {r.status_code}"
        assert r.headers.get("x-content-type-options") == "nosniff", where
        assert r.headers.get("referrer-policy") == "same-origin", where
        assert r.headers.get("x-frame-options") == "DENY", where
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, where
        assert "strict-transport-security" not in r.headers, where  # only over TLS


def test_refusals_reach_the_security_log_without_the_token(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.WARNING, logger="whiteboard.security")
    forged = "wbt_forged-token-value"
    api.c.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "x"}, headers={"Authorization": f"Bearer {forged}"})
    api.c.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "x"}, headers=api.as_("display"))
    records = [r for r in caplog.records if r.name == "whiteboard.security"]
    assert [getattr(r, "status", None) for r in records] == [401, 403]
    assert all(getattr(r, "path", None) == f"/api/wards/{WARD}/beds/B1" for r in records)
    text = caplog.text + "".join(str(r.__dict__) for r in records)
    assert forged not in text and api.tokens["display"] not in text


def test_audit_exports_as_fhir_auditevents(api: Api) -> None:
    """Checked against the FHIR R4B models of fhir.resources (a test dependency)."""
    from fhir.resources.R4B.bundle import Bundle

    api.patch("B1", {"patient": PATIENT})
    api.snapshot("viewer")
    r = api.c.get("/api/audit", params={"ward": WARD, "format": "fhir"}, headers=api.as_("admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(r.json())
    events: list[Any] = [e.resource for e in bundle.entry or []]
    assert {e.action for e in events} >= {"C", "R"}  # the admission created a record, the viewer read it
    admitted = next(e for e in events if e.action == "C" and e.entity[0].what.display == f"{WARD}/B1")
    assert admitted.agent[0].who.display == "test nurse" and admitted.type.code == "110110"


def test_a_token_in_a_query_string_never_reaches_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    for name in ("whiteboard", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name)
    secret = api.tokens["nurse"]
    api.c.get(f"/api/wards/{WARD}?token={secret}&access_token={secret}")
    api.c.get(f"/api/wards/{WARD}/events?since=0-0&token={secret}", headers=api.as_("nurse"))
    # The server's loggers only (the test's own HTTP client logs the URL it sent, which is its business).
    server = [r for r in caplog.records if r.name.startswith(("whiteboard", "uvicorn"))]
    assert any(r.name == "whiteboard.access" for r in server), "the requests were logged"
    logged = "".join(r.getMessage() + str(r.__dict__) for r in server)
    assert secret not in logged and "token=" not in logged
