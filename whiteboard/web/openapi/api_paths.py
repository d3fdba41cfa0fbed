"""The OpenAPI paths of the JSON API, health and metrics, with the running server's limits."""

from __future__ import annotations

from typing import Any

from whiteboard.domain.wire.values import (
    AUDIT_LIMIT_DEFAULT,
    AUDIT_LIMIT_MAX,
    EVENTS_LIMIT_DEFAULT,
    LOAD_TESTS_LIMIT_DEFAULT,
    LOAD_TESTS_LIMIT_MAX,
    OFFSET_PATTERN,
)
from whiteboard.settings import Settings
from whiteboard.web.openapi.parts import API_ERRORS, BED_ETAG_HEADER, ETAG_HEADER, NO_AUTH, body, error, errors, ok, ref


def paths(settings: Settings) -> dict[str, Any]:
    """`paths` for /api, /healthz, /readyz, /metrics and /openapi.json."""
    ward = {"$ref": "#/components/parameters/ward"}
    bed = {"$ref": "#/components/parameters/bed"}
    if_match = {"$ref": "#/components/parameters/IfMatch"}
    request_id = {"$ref": "#/components/parameters/XRequestId"}
    events_max = settings.events_page_max
    too_large = error(f"The body is larger than the {settings.max_body_bytes} bytes this server accepts.")
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["health"],
                "summary": "Liveness: 200 while the process lives.",
                "security": NO_AUTH,
                "responses": {
                    "200": ok(
                        "Alive.",
                        {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]},
                    )
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "tags": ["health"],
                "summary": "Readiness: the database and the event log both answer.",
                "security": NO_AUTH,
                "responses": {
                    "200": ok("Ready.", ref("Readiness")),
                    "503": ok(
                        "Not ready; `checks` says which backend failed and why.",
                        {"allOf": [ref("Readiness"), ref("Error")]},
                    ),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "tags": ["health"],
                "summary": "Prometheus text format (roles `ops` and `admin`).",
                "responses": {
                    "200": {
                        "description": "Prometheus exposition format 0.0.4.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **errors(*API_ERRORS),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document.",
                "security": NO_AUTH,
                "responses": {
                    "200": ok(
                        "The OpenAPI 3.1 document.",
                        {"type": "object", "required": ["openapi", "info", "paths"]},
                    )
                },
            }
        },
        "/api/wards": {
            "get": {
                "operationId": "listWards",
                "tags": ["wards"],
                "summary": "The wards the credential covers.",
                "responses": {
                    "200": ok("Wards, in id order.", {"type": "array", "items": ref("WardSummary")}),
                    **errors(*API_ERRORS),
                },
            }
        },
        "/api/wards/{ward}": {
            "parameters": [ward],
            "get": {
                "operationId": "wardSnapshot",
                "tags": ["wards"],
                "summary": "The ward snapshot, filtered for the credential's role.",
                "parameters": [
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "An ETag from an earlier snapshot: 304 while the ward has not moved on.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": ok("The snapshot.", ref("WardSnapshot"), {"ETag": ETAG_HEADER}),
                    "304": {"description": "Not modified since the ETag.", "headers": {"ETag": ETAG_HEADER}},
                    **errors(*API_ERRORS, 404),
                },
            },
        },
        "/api/wards/{ward}/events": {
            "parameters": [ward],
            "get": {
                "operationId": "wardEvents",
                "tags": ["wards"],
                "summary": "Events after `since`, in offset order.",
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "description": "Events after this offset (default `0-0`, the beginning).",
                        "schema": {"type": "string", "pattern": OFFSET_PATTERN, "default": "0-0"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": f"At most this many events; this server sends at most {events_max} a page.",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": events_max,
                            "default": EVENTS_LIMIT_DEFAULT,
                        },
                    },
                    {
                        "name": "epoch",
                        "in": "query",
                        "required": False,
                        "description": "The epoch `since` belongs to; another epoch answers 410.",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": ok("A page of events; `next` is the offset to ask after.", ref("EventsPage")),
                    **errors(*API_ERRORS, 400, 404, 410),
                },
            },
        },
        "/api/wards/{ward}/beds/{bed}": {
            "parameters": [ward, bed],
            "patch": {
                "operationId": "updateBed",
                "tags": ["beds"],
                "summary": "Change a bed: status, notes and patient fields (role `nurse` or higher).",
                "parameters": [if_match, request_id],
                "requestBody": body("BedUpdate"),
                "responses": {
                    "200": ok("Saved (or nothing changed).", ref("WriteAnswer"), {"ETag": BED_ETAG_HEADER}),
                    **errors(*API_ERRORS, 400, 404, 412, 422, 429),
                    "413": too_large,
                },
            },
        },
        "/api/wards/{ward}/beds/{bed}/observations": {
            "parameters": [ward, bed],
            "post": {
                "operationId": "recordObservations",
                "tags": ["beds"],
                "summary": "Record vital signs for the bed's patient; answers the NEWS2 score.",
                "parameters": [if_match, request_id],
                "requestBody": body("Observations"),
                "responses": {
                    "200": ok("Scored and saved.", ref("ObservationsAnswer"), {"ETag": BED_ETAG_HEADER}),
                    **errors(*API_ERRORS, 400, 404, 412, 422, 429),
                    "413": too_large,
                },
            },
        },
        "/api/wards/{ward}/beds/{bed}/observations/preview": {
            "parameters": [ward, bed],
            "post": {
                "operationId": "previewObservations",
                "tags": ["beds"],
                "summary": "Score vital signs for the bed's patient without saving anything (the phone shows it "
                "before the nurse saves); role `nurse` or higher.",
                "requestBody": body("Observations"),
                "responses": {
                    "200": ok("What saving them would chart.", ref("ObservationsPreview")),
                    **errors(*API_ERRORS, 400, 404, 422),
                    "413": too_large,
                },
            },
        },
        "/api/wards/{ward}/beds/{bed}/transfer": {
            "parameters": [ward, bed],
            "post": {
                "operationId": "transferPatient",
                "tags": ["beds"],
                "summary": "Move the bed's patient to an empty bed of this or another ward (HL7 A02); `nurse` or "
                "higher on both wards.",
                "parameters": [if_match, request_id],
                "requestBody": body("BedMove"),
                "responses": {
                    "200": ok("Moved, in one transaction.", ref("MoveAnswer"), {"ETag": BED_ETAG_HEADER}),
                    **errors(*API_ERRORS, 400, 404, 409, 412, 422, 429),
                    "413": too_large,
                },
            },
        },
        "/api/wards/{ward}/beds/{bed}/swap": {
            "parameters": [ward, bed],
            "post": {
                "operationId": "swapPatients",
                "tags": ["beds"],
                "summary": "Exchange the patients of two beds, in one ward or two (HL7 A17); `nurse` or higher on "
                "both wards.",
                "parameters": [if_match, request_id],
                "requestBody": body("BedMove"),
                "responses": {
                    "200": ok("Swapped, in one transaction.", ref("MoveAnswer"), {"ETag": BED_ETAG_HEADER}),
                    **errors(*API_ERRORS, 400, 404, 412, 422, 429),
                    "413": too_large,
                },
            },
        },
        "/api/wards/{ward}/display-profile": {
            "parameters": [ward],
            "get": {
                "operationId": "getDisplayProfile",
                "tags": ["wards"],
                "summary": "Which patient fields this ward's public boards show (`ward_manager` and `admin`).",
                "responses": {
                    "200": ok("The profile.", ref("DisplayProfile")),
                    **errors(*API_ERRORS, 404),
                },
            },
            "put": {
                "operationId": "setDisplayProfile",
                "tags": ["wards"],
                "summary": "Change what this ward's public boards show (`admin` only).",
                "parameters": [request_id],
                "requestBody": body("DisplayProfileUpdate"),
                "responses": {
                    "200": ok("The profile as saved.", ref("DisplayProfile")),
                    **errors(*API_ERRORS, 400, 404, 422),
                    "413": too_large,
                },
            },
        },
        "/api/audit": {
            "get": {
                "operationId": "audit",
                "tags": ["audit"],
                "summary": "Audit records, newest first (`ward_manager` and `admin`); JSON, or CSV.",
                "parameters": [
                    {"name": "ward", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "bed", "in": "query", "required": False, "schema": {"type": "string"}},
                    {
                        "name": "person",
                        "in": "query",
                        "required": False,
                        "description": "An actor name or a credential id.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "description": "Records at or after this time (no offset: UTC).",
                        "schema": {"type": "string", "format": "date-time"},
                    },
                    {
                        "name": "until",
                        "in": "query",
                        "required": False,
                        "description": "Records at or before this time (no offset: UTC).",
                        "schema": {"type": "string", "format": "date-time"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": AUDIT_LIMIT_MAX,
                            "default": AUDIT_LIMIT_DEFAULT,
                        },
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["json", "csv", "fhir"], "default": "json"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Audit records, newest first.",
                        "content": {
                            "application/json": {"schema": {"type": "array", "items": ref("AuditRecord")}},
                            "text/csv": {"schema": {"type": "string"}},
                            "application/fhir+json": {
                                "schema": {
                                    "type": "object",
                                    "description": "A FHIR R4 searchset Bundle of AuditEvent resources.",
                                    "required": ["resourceType", "type", "entry"],
                                    "properties": {"resourceType": {"const": "Bundle"}},
                                }
                            },
                        },
                    },
                    **errors(*API_ERRORS, 400),
                },
            }
        },
        "/api/ops": {
            "get": {
                "operationId": "opsFigures",
                "tags": ["health"],
                "summary": "Live figures for the ops page (`ops` and `admin`); no patient data.",
                "responses": {"200": ok("The figures.", ref("OpsFigures")), **errors(*API_ERRORS)},
            }
        },
        "/api/ops/load-tests": {
            "get": {
                "operationId": "listLoadTests",
                "tags": ["health"],
                "summary": "The latest load-test results of this deployment, newest run first (`ops` and `admin`).",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": LOAD_TESTS_LIMIT_MAX,
                            "default": LOAD_TESTS_LIMIT_DEFAULT,
                        },
                    }
                ],
                "responses": {
                    "200": ok("Results, newest run first.", {"type": "array", "items": ref("LoadTestRecord")}),
                    **errors(*API_ERRORS, 400),
                },
            },
            "post": {
                "operationId": "recordLoadTest",
                "tags": ["health"],
                "summary": "Keep a load-test result (`scripts/loadtest --host` posts it; `ops` and `admin`); audited.",
                "requestBody": body("LoadTestResult"),
                "responses": {
                    "201": ok("The result as stored.", ref("LoadTestRecord")),
                    **errors(*API_ERRORS, 400, 422),
                    "413": too_large,
                },
            },
        },
    }
