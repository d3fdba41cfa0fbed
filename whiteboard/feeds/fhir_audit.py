"""The audit trail as FHIR R4 `AuditEvent` resources in a `searchset` Bundle, for a trust's audit
repository. Built as plain JSON here (checked against the FHIR models of fhir.resources in the tests)."""

from __future__ import annotations

from typing import Any, Final

import orjson

DCM: Final = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_TYPE: Final = "http://terminology.hl7.org/CodeSystem/audit-event-type"
# DICOM audit event types: 110110 Patient Record (changes and reads of it), 110114 User Authentication,
# 110136 Security Roles Changed (credentials, accounts, displays).
_TYPES: Final = {
    "read": ("110110", "Patient Record"),
    "bed": ("110110", "Patient Record"),
    "patient": ("110110", "Patient Record"),
    "credential": ("110136", "Security Roles Changed"),
    "user": ("110136", "Security Roles Changed"),
    "display": ("110136", "Security Roles Changed"),
    "session": ("110114", "User Authentication"),  # sign-ins, refused sign-ins, sign-outs
}
# FHIR AuditEventAction: C create, R read, U update, D delete, E execute.
_ACTIONS: Final = {"read": "R", "patient.admitted": "C", "patient.discharged": "U", "ward.created": "C",
                   "credential.created": "C", "user.created": "C", "credential.revoked": "D"}  # fmt: skip


def audit_event(record: dict[str, Any]) -> dict[str, Any]:
    action_name = str(record["action"])
    family = action_name.split(".", 1)[0]
    code, display = _TYPES.get(family, ("110100", "Application Activity"))
    action = _ACTIONS.get(action_name, _ACTIONS.get(family, "U"))
    what = "/".join(p for p in (record.get("ward"), record.get("bed")) if p) or "whiteboard"
    detail = [{"type": "action", "valueString": action_name}]
    for key in ("before", "after"):
        if record.get(key) is not None:
            detail.append({"type": key, "valueString": orjson.dumps(record[key]).decode()})
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(record["id"]),
        "type": {"system": DCM, "code": code, "display": display},
        "action": action,
        "recorded": record["at"],
        "outcome": "4" if action_name == "session.sign_in_failed" else "0",  # 4: minor failure
        "agent": [
            {
                "who": {"display": record["actor"], "identifier": {"value": record.get("credential_id") or "-"}},
                "requestor": True,
                "role": [{"text": record["role"]}],
            }
        ],
        "source": {"observer": {"display": "Ward Whiteboard"}, "type": [{"code": str(record["source"])}]},
        "entity": [{"what": {"display": what}, "detail": detail}],
    }
    if record.get("hash"):
        event["extension"] = [
            {"url": "https://ward-whiteboard.example/fhir/audit-chain-hash", "valueString": record["hash"]}
        ]
    return event


def bundle(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(records),
        "entry": [{"resource": audit_event(r)} for r in records],
    }
