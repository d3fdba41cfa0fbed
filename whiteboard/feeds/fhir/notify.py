"""FHIR Subscriptions, R4 Subscriptions Backport IG (STU 1.1): the Subscription a client asks for, and the
notification Bundles (handshake, heartbeat, event-notification) the websocket channel sends.

One topic: a bed of a ward changed (state, patient, NEWS2). The ward comes from the filter criteria
(`Location?partof=Location/WARD` or `Encounter?location=WARD`), or is the one ward a credential covers.
"""

from __future__ import annotations

import uuid
from typing import Final

from whiteboard.feeds.fhir import codes
from whiteboard.feeds.fhir.model import accept
from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.types import JSONDict

BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
FILTER_EXT: Final = f"{BACKPORT}/backport-filter-criteria"
CONTENT_EXT: Final = f"{BACKPORT}/backport-payload-content"
HEARTBEAT_EXT: Final = f"{BACKPORT}/backport-heartbeat-period"
PROFILE: Final = f"{BACKPORT}/backport-subscription"
STATUS_PROFILE: Final = f"{BACKPORT}/backport-subscription-status-r4"
BED_TOPIC: Final = "https://ward-whiteboard.example/fhir/SubscriptionTopic/bed-changed"
CONTENTS: Final = ("empty", "id-only", "full-resource")
HEARTBEAT_RANGE_SECS: Final = (1, 3600)
HEARTBEAT_DEFAULT_SECS: Final = 30


def _ext(extensions: list[JSONDict] | None, url: str) -> JSONDict | None:
    return next((e for e in extensions or [] if e.get("url") == url), None)


def parse_subscription(resource: object, covered: list[str]) -> tuple[str, str, int]:
    """(ward, payload content, heartbeat seconds) of a websocket Subscription to the bed topic, or a refusal."""
    sub = accept(resource)
    if sub.get("resourceType") != "Subscription":
        raise FhirError(400, "structure", "POST /fhir/Subscription takes a Subscription", "resourceType")
    if sub.get("criteria") != BED_TOPIC:
        raise FhirError(422, "not-supported", f"the one topic here is {BED_TOPIC}", "Subscription.criteria")
    channel = sub["channel"]
    if channel.get("type") != "websocket":
        raise FhirError(422, "not-supported", "the channel here is websocket", "Subscription.channel.type")
    content_ext = _ext((sub["channel"].get("_payload") or {}).get("extension"), CONTENT_EXT)
    content = (content_ext or {}).get("valueCode", "id-only")
    if content not in CONTENTS:
        raise FhirError(
            422, "code-invalid", "payload content is empty, id-only or full-resource", "Subscription.channel"
        )
    beat_ext = _ext(channel.get("extension"), HEARTBEAT_EXT)
    heartbeat = (beat_ext or {}).get("valueUnsignedInt", HEARTBEAT_DEFAULT_SECS)
    low, high = HEARTBEAT_RANGE_SECS
    if not isinstance(heartbeat, int) or not low <= heartbeat <= high:
        raise FhirError(422, "value", f"the heartbeat period is {low} to {high} seconds", "Subscription.channel")
    filters = [e.get("valueString", "") for e in (sub.get("_criteria") or {}).get("extension") or []
               if e.get("url") == FILTER_EXT]  # fmt: skip
    wards = {_ward_of(f) for f in filters}
    if not wards and len(covered) == 1:
        wards = {covered[0]}
    if len(wards) != 1:
        raise FhirError(422, "required", "name one ward in the filter criteria: Location?partof=Location/WARD",
                        "Subscription._criteria")  # fmt: skip
    ward = wards.pop()
    if ward not in covered:
        raise FhirError(403, "forbidden", f"this credential does not cover ward {ward!r}", "Subscription._criteria")
    return ward, content, heartbeat


def _ward_of(criteria: str) -> str:
    for prefix in ("Location?partof=", "Encounter?location="):
        if criteria.startswith(prefix):
            return criteria.removeprefix(prefix).removeprefix("Location/")
    raise FhirError(422, "not-supported", "filter by Location?partof=Location/WARD or Encounter?location=WARD",
                    "Subscription._criteria")  # fmt: skip


def active_subscription(sub_id: str, request: JSONDict, ward: str, content: str, heartbeat: int) -> JSONDict:
    """The Subscription as the server holds it: active (a websocket needs no handshake before it is)."""
    return {
        "resourceType": "Subscription",
        "id": sub_id,
        "meta": {"profile": [PROFILE]},
        "status": "active",
        "reason": request.get("reason") or "ward board changes",
        "criteria": BED_TOPIC,
        "_criteria": {"extension": [{"url": FILTER_EXT, "valueString": f"Location?partof=Location/{ward}"}]},
        "channel": {
            "type": "websocket",
            "payload": codes.FHIR_JSON,
            "_payload": {"extension": [{"url": CONTENT_EXT, "valueCode": content}]},
            "extension": [{"url": HEARTBEAT_EXT, "valueUnsignedInt": heartbeat}],
        },
    }


def binding_token(sub_id: str, token: str, expires: str, websocket_url: str) -> JSONDict:
    """$get-ws-binding-token's answer."""
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "token", "valueString": token},
            {"name": "expiration", "valueDateTime": expires},
            {"name": "subscription", "valueString": sub_id},
            {"name": "websocket-url", "valueUrl": websocket_url},
        ],
    }


def notification(
    sub_id: str,
    kind: str,
    events: int,
    at: str,
    *,
    focus: list[str] | None = None,
    resources: list[JSONDict] | None = None,
    base: str = "",
) -> JSONDict:
    """A notification Bundle: `history`, the subscription status first, then (full-resource) what changed."""
    parameters: list[JSONDict] = [
        {"name": "subscription", "valueReference": {"reference": f"Subscription/{sub_id}"}},
        {"name": "topic", "valueCanonical": BED_TOPIC},
        {"name": "status", "valueCode": "active"},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(events)},
    ]
    if kind == "event-notification":
        part: list[JSONDict] = [{"name": "event-number", "valueString": str(events)},
                                {"name": "timestamp", "valueInstant": at}]  # fmt: skip
        part += [{"name": "focus", "valueReference": {"reference": ref}} for ref in (focus or [])[:1]]
        part += [{"name": "additional-context", "valueReference": {"reference": ref}} for ref in (focus or [])[1:]]
        parameters.append({"name": "notification-event", "part": part})
    status: JSONDict = {"resourceType": "Parameters", "id": uuid.uuid4().hex, "meta": {"profile": [STATUS_PROFILE]},
                        "parameter": parameters}  # fmt: skip
    entries: list[JSONDict] = [{
        "fullUrl": f"urn:uuid:{status['id']}",
        "resource": status,
        "request": {"method": "GET", "url": f"Subscription/{sub_id}/$status"},
        "response": {"status": "200"},
    }]  # fmt: skip
    for res in resources or []:
        entries.append({
            "fullUrl": f"{base}/{res['resourceType']}/{res['id']}",
            "resource": res,
            "request": {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"},
            "response": {"status": "200"},
        })  # fmt: skip
    return {"resourceType": "Bundle", "id": uuid.uuid4().hex, "type": "history", "timestamp": at, "entry": entries}
