"""FHIR Subscriptions (R4 Backport IG) over the websocket channel on both backend sets: create, get a binding
token, bind, handshake, a notification for each committed change (from the hub, like the boards), heartbeats,
single-use tokens, and a display's notifications naming no patient."""

from __future__ import annotations

from typing import Any

from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.feeds.fhir.r4 import assert_r4
from tests.support import SETUP
from tests.web.fhir.conftest import OTHER, WARD, FhirSite
from whiteboard.feeds.fhir import notify


def request(content: str = "full-resource", ward: str = WARD, heartbeat: int = 1) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [notify.PROFILE]},
        "status": "requested",
        "reason": "bed board for the site's patient-flow system",
        "criteria": notify.BED_TOPIC,
        "_criteria": {"extension": [{"url": notify.FILTER_EXT, "valueString": f"Location?partof=Location/{ward}"}]},
        "channel": {
            "type": "websocket",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": notify.CONTENT_EXT, "valueCode": content}]},
            "extension": [{"url": notify.HEARTBEAT_EXT, "valueUnsignedInt": heartbeat}],
        },
    }


def subscribe(site: FhirSite, role: str = "nurse", **kw: Any) -> tuple[str, str]:
    """(subscription id, binding token)."""
    r = site.c.post("/fhir/Subscription", json=request(**kw), headers=site.as_(role))
    assert r.status_code == 201, r.text
    sub = assert_r4(r.json())
    assert sub["status"] == "active" and r.headers["location"].endswith(f"/fhir/Subscription/{sub['id']}")
    t = site.c.post(f"/fhir/Subscription/{sub['id']}/$get-ws-binding-token", headers=site.as_(role))
    assert t.status_code == 200, t.text
    params = {p["name"]: p for p in assert_r4(t.json())["parameter"]}
    assert (
        params["websocket-url"]["valueUrl"].endswith("/fhir/ws") and params["subscription"]["valueString"] == sub["id"]
    )
    return sub["id"], params["token"]["valueString"]


def status_of(bundle: dict[str, Any]) -> dict[str, Any]:
    assert_r4(bundle)
    assert bundle["type"] == "history"
    params = bundle["entry"][0]["resource"]["parameter"]
    return {p["name"]: p for p in params}


def next_of(ws: WebSocketTestSession, kind: str, limit: int = 10) -> dict[str, Any]:
    for _ in range(limit):
        bundle: dict[str, Any] = ws.receive_json()
        if status_of(bundle)["type"]["valueCode"] == kind:
            return bundle
    raise AssertionError(f"no {kind} in {limit} notifications")


def test_bind_handshake_events_and_heartbeats(fhir_site: FhirSite) -> None:
    sub_id, token = subscribe(fhir_site)
    with fhir_site.c.websocket_connect("/fhir/ws") as ws:
        ws.send_text(f"bind-with-token {token}")
        hello = status_of(ws.receive_json())
        assert hello["type"]["valueCode"] == "handshake"
        assert hello["subscription"]["valueReference"]["reference"] == f"Subscription/{sub_id}"
        admitted = fhir_site.c.patch(f"/api/wards/{WARD}/beds/B2", json={"patient": {"name": "Grace Hopper"}},
                                     headers=fhir_site.as_("nurse"))  # fmt: skip
        assert admitted.status_code == 200
        event = next_of(ws, "event-notification")
        status = status_of(event)
        assert status["events-since-subscription-start"]["valueString"] == "1"
        parts = {p["name"]: p for p in status["notification-event"]["part"]}
        assert parts["focus"]["valueReference"]["reference"] == f"Location/{WARD}.B2"
        resources = {e["resource"]["resourceType"]: e["resource"] for e in event["entry"][1:]}
        assert resources["Location"]["operationalStatus"]["code"] == "O"
        assert resources["Encounter"]["subject"]["display"] == "Grace Hopper"
        assert status_of(next_of(ws, "heartbeat"))["events-since-subscription-start"]["valueString"] == "1"
    # A binding token opens one socket.
    with fhir_site.c.websocket_connect("/fhir/ws") as ws:
        ws.send_text(f"bind-with-token {token}")
        try:
            ws.receive_text()
            raise AssertionError("a used token bound again")
        except WebSocketDisconnect as closed:
            assert closed.code == 1008
    audited = [a for a in fhir_site.audit() if a["action"] == "read.fhir_subscription"]
    assert len(audited) == 1 and audited[0]["role"] == "nurse"


def test_a_display_subscription_names_nobody(fhir_site: FhirSite) -> None:
    _sub_id, token = subscribe(fhir_site, role="display")
    with fhir_site.c.websocket_connect("/fhir/ws") as ws:
        ws.send_text(f"bind-with-token {token}")
        assert status_of(ws.receive_json())["type"]["valueCode"] == "handshake"
        fhir_site.c.patch(
            f"/api/wards/{WARD}/beds/B1", json={"notes": "family visiting"}, headers=fhir_site.as_("nurse")
        )
        event = next_of(ws, "event-notification")
        text = str(event)
        assert "Lovelace" not in text and "9434765919" not in text and "family visiting" not in text
        encounter = next(e["resource"] for e in event["entry"] if e["resource"]["resourceType"] == "Encounter")
        assert "subject" not in encounter


def test_subscriptions_are_their_credentials_own(fhir_site: FhirSite) -> None:
    sub_id, _ = subscribe(fhir_site, content="id-only")
    assert fhir_site.c.get(f"/fhir/Subscription/{sub_id}", headers=fhir_site.as_("nurse")).status_code == 200
    for role in ("viewer", "admin"):
        r = fhir_site.c.get(f"/fhir/Subscription/{sub_id}/$get-ws-binding-token", headers=fhir_site.as_(role))
        assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"


def test_bad_subscriptions_and_binds_are_refused(fhir_site: FhirSite) -> None:
    cases = [
        (request(ward=OTHER), 403),
        ({**request(), "criteria": "http://example.org/topic/other"}, 422),
        ({**request(), "channel": {"type": "rest-hook", "endpoint": "https://x.example"}}, 422),
        (request(content="everything"), 422),
        (request(heartbeat=0), 422),
        ({**request(), "status": "sleeping", "reason": 3}, 400),
    ]  # fmt: skip
    for body, status in cases:
        r = fhir_site.c.post("/fhir/Subscription", json=body, headers=fhir_site.as_("nurse"))
        assert r.status_code == status, (body, r.text)
        assert assert_r4(r.json())["resourceType"] == "OperationOutcome"
    with fhir_site.c.websocket_connect("/fhir/ws") as ws:
        ws.send_text("bind-with-token wbws_made-up")
        try:
            ws.receive_text()
            raise AssertionError("a made-up token bound")
        except WebSocketDisconnect as closed:
            assert closed.code == 1008


def test_revoking_the_credential_closes_its_subscription_socket(fhir_site: FhirSite) -> None:
    _sub_id, token = subscribe(fhir_site)
    state = fhir_site.app.state.wb  # type: ignore[attr-defined]
    with fhir_site.c.websocket_connect("/fhir/ws") as ws:
        ws.send_text(f"bind-with-token {token}")
        assert status_of(ws.receive_json())["type"]["valueCode"] == "handshake"
        [nurse] = [c for c in fhir_site.run(state.store.list_credentials()) if c.label == "fhir nurse"]  # type: ignore[attr-defined]
        assert fhir_site.run(state.store.revoke_credential(nurse.id, SETUP))
        state.auth.forget()
        try:
            for _ in range(30):  # heartbeats every second until the re-check closes the socket
                ws.receive_json()
            raise AssertionError("the socket outlived its credential")
        except WebSocketDisconnect as closed:
            assert closed.code == 1008


def test_a_restart_closes_subscription_sockets_with_1012_in_the_drain(fhir_site: FhirSite) -> None:
    from whiteboard.web import shutdown

    _sub_id, token = subscribe(fhir_site)
    with fhir_site.c.websocket_connect("/fhir/ws") as ws:
        ws.send_text(f"bind-with-token {token}")
        assert status_of(ws.receive_json())["type"]["valueCode"] == "handshake"
        state = fhir_site.app.state.wb  # type: ignore[attr-defined]
        assert fhir_site.run(shutdown.close_websockets(state, 1.0)) == 1  # in the drain's batches, like a board
        try:
            while True:
                ws.receive_json()
        except WebSocketDisconnect as closed:
            assert closed.code == 1012
