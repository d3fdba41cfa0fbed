"""The CapabilityStatement at /fhir/metadata: what this server reads, searches, takes and pushes (R4 4.0.1)."""

from __future__ import annotations

from typing import Final

from whiteboard.feeds.fhir import codes
from whiteboard.feeds.fhir.search import PARAMETERS
from whiteboard.types import JSONDict

_PARAM_TYPES: Final = {"_id": "token", "partof": "reference", "location": "reference", "status": "token",
                       "patient": "reference", "subject": "reference", "encounter": "reference", "name": "string",
                       "identifier": "token"}  # fmt: skip
BACKPORT_IG: Final = (
    "http://hl7.org/fhir/uv/subscriptions-backport/ImplementationGuide/hl7.fhir.uv.subscriptions-backport"
)
TOPICS: Final = "https://ward-whiteboard.example/fhir/SubscriptionTopic"


def capability_statement(version: str, published: str) -> JSONDict:
    resources: list[JSONDict] = []
    for kind, params in PARAMETERS.items():
        resources.append(
            {
                "type": kind,
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [{"name": p, "type": _PARAM_TYPES[p]} for p in sorted(params)],
            }
        )
    resources.append(
        {
            "type": "Subscription",
            "interaction": [{"code": "create"}, {"code": "read"}],
            "operation": [
                {
                    "name": "get-ws-binding-token",
                    "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token",
                }
            ],
        }
    )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": published,
        "publisher": "Ward Whiteboard",
        "kind": "instance",
        "software": {"name": "Ward Whiteboard", "version": version},
        "implementation": {"description": "A ward's beds, patients and NEWS2 as FHIR R4", "url": "/fhir"},
        "fhirVersion": codes.FHIR_VERSION,
        "format": [codes.FHIR_JSON, "json"],
        "implementationGuide": [BACKPORT_IG],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Authorization: Bearer TOKEN (the JSON API's credentials, roles and ward scopes); "
                    "a display credential reads Locations and anonymous Encounters only."
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}],
            }
        ],
    }
