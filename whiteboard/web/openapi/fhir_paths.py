"""The OpenAPI paths of the FHIR R4 endpoints under /fhir. The bodies are FHIR resources (application/fhir+json),
defined by the FHIR specification rather than here: the schemas say only which resource comes back."""

from __future__ import annotations

from typing import Any, Final

from whiteboard.feeds.fhir.search import PARAMETERS
from whiteboard.web.openapi.parts import NO_AUTH

FHIR_JSON: Final = "application/fhir+json"
ANY: Final = {"type": "object"}


def _resource(kind: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": {"resourceType": {"const": kind}, **(extra or {})},
            "required": ["resourceType"]}  # fmt: skip


def _fhir(description: str, kind: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": _resource(kind, extra)}}}


def _outcome(description: str) -> dict[str, Any]:
    answer = _fhir(description, "OperationOutcome")
    # A path no route may see (an encoded '/', a NUL) is refused before routing, with the JSON API's error body.
    answer["content"]["application/json"] = {"schema": {"$ref": "#/components/schemas/Error"}}
    return answer


OUTCOMES: Final = {
    "400": _outcome("Malformed: not JSON, not a valid R4 resource, or an unknown or repeated search parameter."),
    "401": {**_outcome("No credential, or an unknown or revoked one."),
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
    "403": _outcome("The credential lacks the right: a display reads no Patient, ops no ward data at all."),
    "404": _outcome("No such resource type, or no such resource on a ward this credential covers."),
    "413": _outcome("The body is too large, or the transaction has too many entries."),
    "415": _outcome("The body is not application/fhir+json."),
    "422": _outcome("Valid FHIR the board cannot take; the OperationOutcome names the entry and why."),
    "429": {**_outcome("Too many changes from this credential: wait `Retry-After` seconds."),
            "headers": {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
    "503": _outcome("A backing service (database or event log) is down; nothing was saved."),
}  # fmt: skip


def _fails(*codes: int) -> dict[str, Any]:
    return {str(c): OUTCOMES[str(c)] for c in codes}


def _search_params() -> list[dict[str, Any]]:
    names = sorted(set().union(*PARAMETERS.values()))
    return [{"name": n, "in": "query", "required": False, "schema": {"type": "string", "maxLength": 200},
             "description": "A FHIR search parameter of the resource type (see /fhir/metadata); a comma means OR."}
            for n in names]  # fmt: skip


def paths() -> dict[str, Any]:
    kind = {"name": "type", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1},
            "description": "Location, Encounter, Patient or Observation."}  # fmt: skip
    rid = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    subscription = {"type": "object", "description": "An R4 Subscription (Subscriptions Backport IG, websocket)."}
    return {
        "/fhir/metadata": {"get": {
            "operationId": "fhirMetadata", "tags": ["fhir"], "security": NO_AUTH,
            "summary": "The CapabilityStatement: FHIR R4 4.0.1, what is read, searched, taken and pushed.",
            "responses": {"200": _fhir("The CapabilityStatement.", "CapabilityStatement")},
        }},
        "/fhir": {"post": {
            "operationId": "fhirTransaction", "tags": ["fhir"],
            "summary": "A transaction Bundle of Patient, Encounter, Location and Observation entries, all or nothing.",
            "requestBody": {"required": True, "content": {FHIR_JSON: {"schema": {"type": "object"}},
                                                          "application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": _fhir("The transaction-response Bundle.", "Bundle"),
                          **_fails(400, 401, 403, 404, 413, 415, 422, 429, 503)},
        }},
        "/fhir/{type}": {"get": {
            "operationId": "fhirSearch", "tags": ["fhir"], "parameters": [kind, *_search_params()],
            "summary": "Search: a searchset Bundle of what the credential's wards hold.",
            "responses": {"200": _fhir("A searchset Bundle.", "Bundle"), **_fails(400, 401, 403, 404, 503)},
        }},
        "/fhir/{type}/{id}": {"get": {
            "operationId": "fhirRead", "tags": ["fhir"], "parameters": [kind, rid],
            "summary": "Read one resource.",
            "responses": {"200": {"description": "The resource.", "content": {FHIR_JSON: {"schema": ANY}}},
                          **_fails(400, 401, 403, 404, 503)},
        }},
        "/fhir/Subscription": {"post": {
            "operationId": "fhirSubscribe", "tags": ["fhir"],
            "summary": "Create a websocket Subscription to a ward's bed changes (Subscriptions Backport IG).",
            "requestBody": {"required": True, "content": {FHIR_JSON: {"schema": subscription},
                                                          "application/json": {"schema": subscription}}},
            "responses": {"201": _fhir("The active Subscription.", "Subscription"),
                          **_fails(400, 401, 403, 404, 413, 422, 429, 503)},
        }},
        "/fhir/Subscription/{id}": {"get": {
            "operationId": "fhirSubscription", "tags": ["fhir"], "parameters": [rid],
            "summary": "One of this credential's Subscriptions.",
            "responses": {"200": _fhir("The Subscription.", "Subscription"), **_fails(401, 403, 404, 503)},
        }},
        "/fhir/Subscription/{id}/$get-ws-binding-token": {
            method: {
                "operationId": f"fhirBindingToken{method.title()}", "tags": ["fhir"], "parameters": [rid],
                "summary": "A single-use token for `bind-with-token` on /fhir/ws, valid for a few minutes.",
                "responses": {"200": _fhir("Parameters: token, expiration, subscription, websocket-url.", "Parameters"),
                              **_fails(401, 403, 404, 503)},
            }
            for method in ("get", "post")
        },
    }  # fmt: skip
