"""`GET /openapi.json`: an OpenAPI 3.1 description of every HTTP endpoint (CONTRACT.md, "HTTP" and "Pages").

The document is a plain dict built once per process from the same constants the server validates with
(`domain`, `news2`, `redact`, `offsets`, `settings`), so a changed rule changes the document too.
`tests/test_openapi.py` keeps it true: every route is described, and a schemathesis run against a real
server finds no 5xx and no answer the document does not allow, with and without credentials.

The WebSocket `/ws/wards/{ward}` cannot be modelled as an OpenAPI operation; it is described in
`info.description` and under the `x-websockets` extension, never in `paths`.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

import whiteboard
from whiteboard import store
from whiteboard.access import auth
from whiteboard.domain import news2, offsets, redact
from whiteboard.domain.beds import (
    DISCHARGE_STATUSES,
    FLAGS,
    NOTES_MAX_CHARS,
    SEXES,
    STATUSES,
    TASK_KINDS,
    TASKS_MAX,
)
from whiteboard.settings import Settings

JSONSchema = dict[str, Any]

OFFSET_PATTERN: Final = offsets.OFFSET_RE.pattern
AUDIT_LIMIT_MAX: Final = 5000
AUDIT_LIMIT_DEFAULT: Final = 500
EVENTS_LIMIT_DEFAULT: Final = 100

_DESCRIPTION: Final = f"""\
The wire contract of Ward Whiteboard: JSON API, health and metrics, and the HTML pages.

**Credentials.** `Authorization: Bearer TOKEN` (tokens come from `whiteboard token create`), or the
`{auth.COOKIE_NAME}` session cookie the login page sets. No credential: 401. A credential without the right: 403.
A cookie-authenticated write (PATCH, POST, PUT) must also carry the `X-Whiteboard-Client` header (CSRF).
Roles, least to most: `display`, `viewer`, `nurse`, `ward_manager`, `admin`; `ops` stands beside that ladder.

**Errors** are `{{"error": {{"code", "message", "field"?}}}}` with 400 (malformed), 401, 403, 404 (unknown ward or
bed), 410 (events no longer kept), 412 (stale If-Match), 413 (body over {Settings.max_body_bytes} bytes),
422 (well-formed but invalid), 429 (rate limited) and 503 (a backing service is down). Never a 500 for
anything a client sent. Whole numbers are sent without a fraction (`1`, not `1.0`).

**Offsets** are strings `A-B` of two non-negative integers (pattern `{OFFSET_PATTERN}`); `0-0` is before the first
event. An **epoch** names one incarnation of a ward's event log.

**WebSocket** (not an OpenAPI operation, so not under `paths`): `GET /ws/wards/{{ward}}` upgrades, with the same
credentials as HTTP (a cookie credential from a foreign `Origin` is refused). Optional query
`since=OFFSET&epoch=EPOCH`. Server-to-client text frames, one JSON object each: `snapshot` (the ward snapshot
fields, first when there is no `since`, or with `"recovered": false` when `since`/`epoch` cannot be resumed),
`event` (`epoch`, `offset`, `event`; every change, in offset order, once per connection), `resumed` (`epoch`,
`offset`, `"recovered": true`, after replaying everything after `since`), `heartbeat` (`offset`, `at`; at least
every 15 s when nothing else is sent). A missing or refused credential, or an unknown ward, refuses the upgrade
(HTTP 403); connecting too often from one credential is a 429 with `Retry-After`. Close codes: 1003 (binary
frame), 1008 (malformed frame, bad `since`), 1009 (frame too large), 1011 (a backing service is down), 1012
(resume by offset), 1013 (slow client: resume by offset).
"""


def _ref(name: str) -> JSONSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: JSONSchema) -> JSONSchema:
    """`schema` or null (JSON Schema 2020-12: a type list, or `anyOf` for a `$ref`/`enum`)."""
    if "$ref" in schema or "enum" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema["type"]
    return {**schema, "type": [*kind, "null"] if isinstance(kind, list) else [kind, "null"]}


# Free text never holds a NUL character; text that must not be blank holds a non-space besides.
_NO_NUL: Final = "^[^\\u0000]*$"
_NOT_BLANK: Final = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def _text(max_len: int, *, non_blank: bool = False) -> JSONSchema:
    if non_blank:
        return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": _NOT_BLANK}
    return {"type": "string", "maxLength": max_len, "pattern": _NO_NUL}


def _int(lo: int, hi: int) -> JSONSchema:
    return {"type": "integer", "minimum": lo, "maximum": hi}


_DATE: Final = {"type": "string", "format": "date", "description": "A date like 2026-11-22 (years 1900 to 2200)."}
_DATETIME: Final = {
    "type": "string",
    "format": "date-time",
    "description": "A time with a UTC offset, like 2026-11-22T09:30:00Z (years 1900 to 2200).",
}

# --- request bodies: what parse_patch, news2.parse_observations and parse_display_profile accept ---

_PATIENT_INPUT: Final[dict[str, JSONSchema]] = {
    "name": {
        **_text(100, non_blank=True),
        "description": "Full name; required to admit a patient. Never on a display.",
    },
    "initials": {**_text(8), "description": "Derived from the name when a name is set without initials."},
    "nhs_number": _nullable(
        {
            "type": "string",
            "pattern": r"^( *[0-9]){10} *$",
            "description": "10 digits with a valid modulus-11 check digit; spaces are ignored.",
        }
    ),
    "date_of_birth": _nullable(_DATE),
    "age": _nullable(_int(0, 130)),
    "sex": _nullable({"enum": list(SEXES)}),
    "consultant": _nullable(_text(100)),
    "named_nurse": _nullable(_text(100)),
    "admitted_at": _nullable(_DATETIME),
    "edd": _nullable({**_DATE, "description": "Expected discharge date (years 1900 to 2200)."}),
    "medically_optimised": {"type": "boolean"},
    "discharge_pathway": _nullable(_int(0, 3)),
    "discharge_status": {"enum": list(DISCHARGE_STATUSES)},
    "red_green": {"enum": ["red", "green"]},
    "news2": _nullable(_ref("News2Input")),
    "flags": {"type": "array", "items": {"enum": list(FLAGS)}},
    "tasks": {"type": "array", "maxItems": TASKS_MAX, "items": _ref("TaskInput")},
}

_OBSERVATIONS: Final[JSONSchema] = {
    "type": "object",
    "description": "One set of vital signs; every field is required (NEWS2, RCP 2017).",
    "properties": {
        **{name: _int(lo, hi) for name, (lo, hi) in news2.INT_RANGES.items()},
        "spo2_scale": {"type": "integer", "enum": [1, 2], "description": "2 only when a clinician prescribed it."},
        "on_oxygen": {"type": "boolean"},
        "consciousness": {"enum": sorted(news2.CONSCIOUSNESS_LEVELS)},
        "temperature": {
            "type": "number",
            "minimum": news2.TEMPERATURE_RANGE[0],
            "maximum": news2.TEMPERATURE_RANGE[1],
            "description": "Degrees Celsius.",
        },
    },
    "required": sorted(news2.FIELDS),
    "additionalProperties": False,
}

_REQUEST_SCHEMAS: Final[dict[str, JSONSchema]] = {
    "BedUpdate": {
        "type": "object",
        "description": (
            "The bed fields to change; at least one. Unknown fields are a 422 naming the field. On an occupied "
            "bed, `patient` fields merge into the current patient, but the patient's identity (`name`, "
            "`nhs_number`, `date_of_birth`) cannot change that way: a different value is a 422 "
            "`patient_identity_change` (discharge or transfer the current patient first). Filling in one that "
            'was never known, or resending the same value, is fine. `"admit": true` replaces the whole '
            "patient record with the one sent (a new admission; nothing of the previous patient is kept)."
        ),
        "properties": {
            "status": {"enum": list(STATUSES)},
            "notes": {**_text(NOTES_MAX_CHARS), "description": "Staff views only: never sent to a display."},
            "patient": _nullable(_ref("PatientUpdate")),
            "admit": {
                "type": "boolean",
                "description": "true: `patient` is a new admission that replaces whatever record is on the bed; "
                "it needs `patient.name`.",
            },
        },
        "minProperties": 1,
        "additionalProperties": False,
        "if": {"properties": {"admit": {"const": True}}, "required": ["admit"]},
        "then": {"properties": {"patient": {"type": "object", "required": ["name"]}}, "required": ["patient"]},
    },
    "PatientUpdate": {
        "type": "object",
        "description": "Patient fields to set (merged into the current patient); null, not an object, discharges.",
        "properties": _PATIENT_INPUT,
        "additionalProperties": False,
    },
    "TaskInput": {
        "type": "object",
        "description": "Task ids are unique within the list (default `t1`, `t2`, ... by position).",
        "properties": {
            "id": _text(40, non_blank=True),
            "kind": {"enum": list(TASK_KINDS)},
            "text": _text(200),
            "done": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "News2Input": {
        "type": "object",
        "description": "A bare NEWS2 score (risk and next-due time are computed). A red score needs score >= 3.",
        "properties": {
            "score": _int(0, news2.MAX_SCORE),
            "red_score": {"type": "boolean"},
            "recorded_at": _nullable(_DATETIME),
        },
        "required": ["score"],
        "additionalProperties": False,
        # A red score (3 in one parameter) means the aggregate is at least 3.
        "if": {"properties": {"red_score": {"const": True}}, "required": ["red_score"]},
        "then": {"properties": {"score": {"minimum": 3}}},
    },
    "Observations": _OBSERVATIONS,
    "DisplayProfileUpdate": {
        "type": "object",
        "description": "The patient fields this ward's public boards show; null restores the safe default.",
        "properties": {
            "fields": _nullable(
                {"type": "array", "items": {"enum": sorted(redact.DISPLAYABLE - redact.NEVER_ON_DISPLAY)}}
            )
        },
        "required": ["fields"],
        "additionalProperties": False,
    },
}

# --- answers ---

_RESPONSE_SCHEMAS: Final[dict[str, JSONSchema]] = {
    "Error": {
        "type": "object",
        "description": 'Every error answer: `{"error": {"code", "message", "field"?}}`.',
        "properties": {"error": _ref("ErrorDetail")},
        "required": ["error"],
    },
    "ErrorDetail": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "minLength": 1, "description": "Stable and machine-readable."},
            "message": {"type": "string", "description": "For people: what went wrong and what to do."},
            "field": {"type": "string", "description": "The request field at fault, when there is one."},
        },
        "required": ["code", "message"],
    },
    "Offset": {"type": "string", "pattern": OFFSET_PATTERN, "examples": ["0-0", "42-0"]},
    "Epoch": {"type": "string", "description": "Names one incarnation of a ward's event log."},
    "WardSummary": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "beds": {"type": "integer", "minimum": 0}},
        "required": ["id", "name", "beds"],
    },
    "News2": {
        "type": "object",
        "properties": {
            "score": _int(0, news2.MAX_SCORE),
            "red_score": {"type": "boolean"},
            "risk": {"enum": ["low", "low-medium", "medium", "high"]},
            "monitoring": {"enum": ["12-hourly", "4-6-hourly", "hourly", "continuous"]},
            "recorded_at": {"type": "string", "format": "date-time"},
            "next_due": {"type": "string", "format": "date-time"},
        },
        "required": ["score", "red_score", "risk", "next_due"],
    },
    "Task": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": list(TASK_KINDS)},
            "text": {"type": "string"},
            "done": {"type": "boolean"},
        },
        "required": ["id", "kind", "text", "done"],
    },
    "Patient": {
        "type": "object",
        "description": (
            "Staff see the whole record. A `display` credential sees only its ward's display profile: never "
            "`name`, `nhs_number`, `date_of_birth`, `tasks` or the `dnacpr` flag; `tasks_pending` counts open tasks."
        ),
        "properties": {
            "name": {"type": "string"},
            "initials": {"type": "string"},
            "nhs_number": {"type": ["string", "null"]},
            "date_of_birth": {"type": ["string", "null"]},
            "age": {"type": ["integer", "null"]},
            "sex": {"anyOf": [{"enum": list(SEXES)}, {"type": "null"}]},
            "consultant": {"type": ["string", "null"]},
            "named_nurse": {"type": ["string", "null"]},
            "admitted_at": {"type": ["string", "null"]},
            "edd": {"type": ["string", "null"]},
            "medically_optimised": {"type": "boolean"},
            "discharge_pathway": {"type": ["integer", "null"]},
            "discharge_status": {"enum": list(DISCHARGE_STATUSES)},
            "red_green": {"enum": ["red", "green"]},
            "news2": _nullable(_ref("News2")),
            "flags": {"type": "array", "items": {"type": "string"}},
            "tasks": {"type": "array", "items": _ref("Task")},
            "tasks_pending": {"type": "integer", "minimum": 0},
        },
    },
    "Bed": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "bay": {"type": ["string", "null"]},
            "status": {"enum": list(STATUSES)},
            "notes": {"type": "string", "description": "Staff views only."},
            "patient": _nullable(_ref("Patient")),
            "updated_at": {"type": ["string", "null"]},
            "version": {
                "type": "integer",
                "minimum": 0,
                "description": 'The bed\'s version (the ward position of its last change): `If-Match: "bed-N"`.',
            },
            "similar_name": {
                "type": "boolean",
                "description": "Another patient on this ward shares this patient's initials or surname (worked out "
                "from the names on the server; reveals none, so a display sees it too).",
            },
        },
        "required": ["id", "status", "patient"],
    },
    "WardSnapshot": {
        "type": "object",
        "properties": {
            "ward": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                "required": ["id", "name"],
            },
            "epoch": _ref("Epoch"),
            "offset": _ref("Offset"),
            "beds": {"type": "array", "items": _ref("Bed")},
        },
        "required": ["ward", "epoch", "offset", "beds"],
    },
    "Event": {
        "type": "object",
        "description": "`changes` holds the new values, filtered by role exactly like the snapshot.",
        "properties": {
            "kind": {
                "type": "string",
                "examples": ["bed.updated", "patient.admitted", "patient.transferred", "patient.discharged"],
            },
            "ward": {"type": "string"},
            "bed": {"type": ["string", "null"]},
            "changes": {"type": "object", "description": "For a bed, also its new `version` and `updated_at`."},
            "similar_name": {
                "type": "object",
                "additionalProperties": {"type": "boolean"},
                "description": "Beds (this one or others) whose similar-name warning this change turned on or off.",
            },
            "at": {"type": "string", "format": "date-time"},
            "by": {"type": "string"},
        },
        "required": ["kind", "ward", "changes", "at"],
    },
    "EventsPage": {
        "type": "object",
        "properties": {
            "epoch": _ref("Epoch"),
            "events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"offset": _ref("Offset"), "event": _ref("Event")},
                    "required": ["offset", "event"],
                },
            },
            "next": _ref("Offset"),
        },
        "required": ["epoch", "events", "next"],
    },
    "WriteAnswer": {
        "type": "object",
        "description": "`event` is null when the update changed nothing (then `offset` is the ward's current one). "
        "`version` is the bed's version after the write (the ETag header is its bed ETag).",
        "properties": {
            "offset": _ref("Offset"),
            "event": _nullable(_ref("Event")),
            "version": {"type": "integer", "minimum": 0},
        },
        "required": ["offset", "event", "version"],
    },
    "ObservationsAnswer": {
        "allOf": [_ref("WriteAnswer")],
        "type": "object",
        "properties": {"news2": _ref("News2")},
        "required": ["news2"],
    },
    "DisplayProfile": {
        "type": "object",
        "properties": {
            "fields": {"type": "array", "items": {"type": "string"}},
            "custom": {"type": "boolean"},
            "available": {"type": "array", "items": {"type": "string"}},
            "default": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["fields", "custom", "available", "default"],
    },
    "AuditRecord": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string"},
            "credential_id": {"type": ["string", "null"]},
            "role": {"type": "string"},
            "source": {"type": "string"},
            "action": {"type": "string"},
            "ward": {"type": ["string", "null"]},
            "bed": {"type": ["string", "null"]},
            "offset": _nullable(_ref("Offset")),
            "before": {},
            "after": {},
            "request_id": {"type": ["string", "null"]},
            "hash": {"type": "string"},
            "prev_hash": {"type": "string"},
        },
        "required": ["id", "at", "actor", "action"],
    },
    "Check": {
        "type": "object",
        "properties": {
            "backend": {"type": "string"},
            "status": {"enum": ["ok", "down"]},
            "error": {"type": "string"},
        },
        "required": ["backend", "status"],
    },
    "Readiness": {
        "type": "object",
        "properties": {
            "status": {"enum": ["ready", "unavailable"]},
            "checks": {
                "type": "object",
                "properties": {"database": _ref("Check"), "eventlog": _ref("Check")},
                "required": ["database", "eventlog"],
            },
            "error": _ref("ErrorDetail"),
        },
        "required": ["status", "checks"],
    },
    "OpsFigures": {
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "pid": {"type": "integer"},
            "uptime_secs": {"type": "number"},
            "connections": {
                "type": "object",
                "properties": {
                    "total": {"type": "integer"},
                    "by_role": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "wards": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["total", "by_role", "wards"],
            },
            "rates": {"type": "object"},
            "totals": {"type": "object"},
            "event_log_lag_secs": {"type": "number"},
            "health": {
                "type": "object",
                "properties": {"database": {"type": "object"}, "eventlog": {"type": "object"}},
                "required": ["database", "eventlog"],
            },
            "process": {"type": "object"},
        },
        "required": ["at", "connections", "rates", "totals", "health"],
    },
}

# --- parameters, headers and responses shared by many operations ---

_PARAMETERS: Final[dict[str, JSONSchema]] = {
    "ward": {
        "name": "ward",
        "in": "path",
        "required": True,
        "description": "A ward id, as `GET /api/wards` lists them.",
        "schema": {"type": "string", "minLength": 1},
    },
    "bed": {
        "name": "bed",
        "in": "path",
        "required": True,
        "description": "A bed id within the ward, like `B03`.",
        "schema": {"type": "string", "minLength": 1},
    },
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": (
            'The version of the bed you edited: its ETag from a write (`"bed-N.xxxxxxxx"`), `"bed-N"` with the '
            "bed's `version` from a snapshot, or a ward ETag from a snapshot (a position of the whole ward). "
            "412 only when this bed changed after it; edits to other beds never make it stale."
        ),
        "schema": {"type": "string"},
    },
    "XRequestId": {
        "name": "X-Request-Id",
        "in": "header",
        "required": False,
        "description": "Recorded in the audit trail with the change, cut to 64 characters (a fresh one when absent).",
        "schema": {"type": "string"},
    },
}

_ETAG_HEADER: Final = {"description": "The ward's current version.", "schema": {"type": "string"}}
_BED_ETAG_HEADER: Final = {
    "description": 'The bed\'s version after the write (`"bed-N.xxxxxxxx"`), for the next If-Match.',
    "schema": {"type": "string"},
}
_LOCATION_HEADER: Final = {"description": "Where to go next.", "schema": {"type": "string"}}
_HTML: Final = {"text/html": {"schema": {"type": "string"}}}


def _json(schema: JSONSchema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json(_ref("Error"))}


_ERRORS: Final[dict[str, dict[str, Any]]] = {
    "400": _error("Malformed: bad JSON, an empty body, or a bad query parameter."),
    "401": {
        **_error("No credential, or an unknown or revoked one."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "403": _error("The credential lacks the right (or a cookie-authenticated write lacks X-Whiteboard-Client)."),
    "404": _error("Unknown ward or bed."),
    "410": _error("Events after `since` are no longer kept for this epoch: load the snapshot again."),
    "412": _error("If-Match names a version this bed has moved on from (or is not a version of it)."),
    "413": _error("The body is larger than the server accepts."),
    "422": _error("Well-formed but invalid; `field` names the culprit."),
    "429": {
        **_error("Too many changes (or connects) from this credential: wait `Retry-After` seconds."),
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
        },
    },
    "503": _error("A backing service (database or event log) is down; nothing was saved."),
}


def _errors(*codes: int) -> dict[str, dict[str, Any]]:
    return {str(c): _ERRORS[str(c)] for c in codes}


def _ok(description: str, schema: JSONSchema, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": _json(schema)}
    if headers:
        answer["headers"] = headers
    return answer


def _body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": _json(_ref(schema_name))}


def _page(description: str, extra: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Responses of a signed-in HTML page: the page, a redirect to sign in, or an HTML problem page."""
    return {
        "200": {"description": description, "content": _HTML},
        "303": {"description": "No credential: to the login page.", "headers": {"Location": _LOCATION_HEADER}},
        "403": {"description": "The credential may not open this page (an HTML problem page).", "content": _HTML},
        "503": _ERRORS["503"],
        **(extra or {}),
    }


# Reading needs no credential for these; `[{}]` in `security` makes the credential optional.
_NO_AUTH: Final[list[dict[str, list[str]]]] = []
_OPTIONAL_AUTH: Final[list[dict[str, list[str]]]] = [{}, {"bearer": []}, {"cookie": []}]
# Every endpoint that needs a credential looks it up: 503 when the database is down. Changes to beds are rate
# limited per credential (429).
_API_ERRORS: Final = (401, 403, 503)


def _paths() -> dict[str, Any]:
    ward = {"$ref": "#/components/parameters/ward"}
    bed = {"$ref": "#/components/parameters/bed"}
    if_match = {"$ref": "#/components/parameters/IfMatch"}
    request_id = {"$ref": "#/components/parameters/XRequestId"}
    events_max = Settings.events_page_max
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["health"],
                "summary": "Liveness: 200 while the process lives.",
                "security": _NO_AUTH,
                "responses": {
                    "200": _ok(
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
                "security": _NO_AUTH,
                "responses": {
                    "200": _ok("Ready.", _ref("Readiness")),
                    "503": _ok(
                        "Not ready; `checks` says which backend failed and why.",
                        {"allOf": [_ref("Readiness"), _ref("Error")]},
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
                    **_errors(*_API_ERRORS),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document.",
                "security": _NO_AUTH,
                "responses": {
                    "200": _ok(
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
                    "200": _ok("Wards, in id order.", {"type": "array", "items": _ref("WardSummary")}),
                    **_errors(*_API_ERRORS),
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
                    "200": _ok("The snapshot.", _ref("WardSnapshot"), {"ETag": _ETAG_HEADER}),
                    "304": {"description": "Not modified since the ETag.", "headers": {"ETag": _ETAG_HEADER}},
                    **_errors(*_API_ERRORS, 404),
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
                        "description": f"At most this many events (the server's `events_page_max`, {events_max} "
                        "by default, is the ceiling).",
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
                    "200": _ok("A page of events; `next` is the offset to ask after.", _ref("EventsPage")),
                    **_errors(*_API_ERRORS, 400, 404, 410),
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
                "requestBody": _body("BedUpdate"),
                "responses": {
                    "200": _ok("Saved (or nothing changed).", _ref("WriteAnswer"), {"ETag": _BED_ETAG_HEADER}),
                    **_errors(*_API_ERRORS, 400, 404, 412, 413, 422, 429),
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
                "requestBody": _body("Observations"),
                "responses": {
                    "200": _ok("Scored and saved.", _ref("ObservationsAnswer"), {"ETag": _BED_ETAG_HEADER}),
                    **_errors(*_API_ERRORS, 400, 404, 412, 413, 422, 429),
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
                    "200": _ok("The profile.", _ref("DisplayProfile")),
                    **_errors(*_API_ERRORS, 404),
                },
            },
            "put": {
                "operationId": "setDisplayProfile",
                "tags": ["wards"],
                "summary": "Change what this ward's public boards show (`admin` only).",
                "parameters": [request_id],
                "requestBody": _body("DisplayProfileUpdate"),
                "responses": {
                    "200": _ok("The profile as saved.", _ref("DisplayProfile")),
                    **_errors(*_API_ERRORS, 400, 404, 413, 422),
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
                            "application/json": {"schema": {"type": "array", "items": _ref("AuditRecord")}},
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
                    **_errors(*_API_ERRORS, 400),
                },
            }
        },
        "/api/ops": {
            "get": {
                "operationId": "opsFigures",
                "tags": ["health"],
                "summary": "Live figures for the ops page (`ops` and `admin`); no patient data.",
                "responses": {"200": _ok("The figures.", _ref("OpsFigures")), **_errors(*_API_ERRORS)},
            }
        },
        "/": {
            "get": {
                "operationId": "root",
                "tags": ["pages"],
                "summary": "Home: the pages and boards this credential may open; a display goes to its board, "
                "no credential to the login page.",
                "security": _OPTIONAL_AUTH,
                "responses": {
                    "200": {"description": "The home page.", "content": _HTML},
                    "303": {"description": "Redirect.", "headers": {"Location": _LOCATION_HEADER}},
                    "503": _ERRORS["503"],
                },
            }
        },
        "/login": {
            "get": {
                "operationId": "loginPage",
                "tags": ["pages"],
                "summary": "The sign-in page.",
                "security": _OPTIONAL_AUTH,
                "parameters": [
                    {
                        "name": "next",
                        "in": "query",
                        "required": False,
                        "description": "A same-site path to return to after signing in.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "The sign-in form.", "content": _HTML}, "503": _ERRORS["503"]},
            },
            "post": {
                "operationId": "login",
                "tags": ["pages"],
                "summary": "Sign in as staff (username and password) or with a bearer token (how a kiosk is enrolled); "
                "starts a session and sets its cookie.",
                "security": _NO_AUTH,
                "parameters": [
                    {
                        "name": "next",
                        "in": "query",
                        "required": False,
                        "description": "A same-site path to return to after signing in.",
                        "schema": {"type": "string"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string"},
                                    "token": {"type": "string"},
                                    "next": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "303": {
                        "description": f"Signed in: the `{auth.COOKIE_NAME}` cookie is set; to the start page.",
                        "headers": {"Location": _LOCATION_HEADER, "Set-Cookie": {"schema": {"type": "string"}}},
                    },
                    "400": _ERRORS["400"],
                    "401": {
                        "description": "The username and password, or the token, were not accepted (the form again).",
                        "content": _HTML,
                    },
                    "403": {
                        "description": "The form was sent from another site, or with an opaque or missing `Origin` "
                        "that neither `Sec-Fetch-Site` nor `Referer` shows to be this server's page.",
                        "content": _HTML,
                    },
                    "429": {
                        "description": "Too many failed sign-ins from this address or for this username.",
                        "content": _HTML,
                        "headers": {"Retry-After": {"schema": {"type": "string"}}},
                    },
                    "503": _ERRORS["503"],
                },
            },
        },
        "/login/oidc": {
            "get": {
                "operationId": "oidcStart",
                "tags": ["pages"],
                "summary": "Sign in with the organisation's OpenID Connect provider: to its authorisation page.",
                "security": _NO_AUTH,
                "parameters": [
                    {
                        "name": "next",
                        "in": "query",
                        "required": False,
                        "description": "A same-site path to return to after signing in.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "303": {"description": "To the identity provider.", "headers": {"Location": _LOCATION_HEADER}},
                    "404": {"description": "Single sign-on is not configured.", "content": _HTML},
                    "503": {"description": "The identity provider does not answer.", "content": _HTML},
                },
            }
        },
        "/login/oidc/callback": {
            "get": {
                "operationId": "oidcCallback",
                "tags": ["pages"],
                "summary": "Where the identity provider sends the browser back; starts a session.",
                "security": _NO_AUTH,
                "parameters": [
                    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                    for n in ("code", "state", "error", "error_description")
                ],
                "responses": {
                    "303": {
                        "description": f"Signed in: the `{auth.COOKIE_NAME}` cookie is set; to the start page.",
                        "headers": {"Location": _LOCATION_HEADER, "Set-Cookie": {"schema": {"type": "string"}}},
                    },
                    "403": {"description": "The sign-in was refused or could not be verified.", "content": _HTML},
                    "404": {"description": "Single sign-on is not configured.", "content": _HTML},
                },
            }
        },
        "/logout": {
            "post": {
                "operationId": "logout",
                "tags": ["pages"],
                "summary": "Sign out: ends this session (or, with the form field `everywhere`, every session of the "
                "person signed in) and clears the cookie.",
                "security": _OPTIONAL_AUTH,
                "responses": {
                    "303": {"description": "Signed out; to the login page.", "headers": {"Location": _LOCATION_HEADER}},
                    "403": {
                        "description": "The form was sent from another site, or with an opaque or missing `Origin` "
                        "that neither `Sec-Fetch-Site` nor `Referer` shows to be this server's page.",
                        "content": _HTML,
                    },
                },
            }
        },
        "/board/{ward}": {
            "parameters": [ward],
            "get": {
                "operationId": "boardPage",
                "tags": ["pages"],
                "summary": "The wall display of one ward (role `display` or higher).",
                "security": _OPTIONAL_AUTH,
                "responses": _page(
                    "The board, live over the WebSocket.",
                    {
                        "404": {
                            "description": "No such ward: an HTML problem page (JSON for an id no ward can have).",
                            "content": {**_HTML, **_json(_ref("Error"))},
                        },
                    },
                ),
            },
        },
        "/m": {
            "get": {
                "operationId": "mobilePage",
                "tags": ["pages"],
                "summary": "The phone view for staff: their wards, beds and editing.",
                "security": _OPTIONAL_AUTH,
                "responses": _page("The phone view."),
            }
        },
        "/ops": {
            "get": {
                "operationId": "opsPage",
                "tags": ["pages"],
                "summary": "Live figures for the ops team (`ops` and `admin`).",
                "security": _OPTIONAL_AUTH,
                "responses": _page("The ops page."),
            }
        },
        "/audit": {
            "get": {
                "operationId": "auditPage",
                "tags": ["pages"],
                "summary": "The audit trail with filters and a CSV download (`ward_manager` and `admin`).",
                "security": _OPTIONAL_AUTH,
                "parameters": [
                    *(
                        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                        for n in ("ward", "bed", "person", "since", "until")
                    ),
                    {
                        "name": "before",
                        "in": "query",
                        "required": False,
                        "description": "Older records: the id below which this page starts (the page's own link).",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": _page(
                    "The audit page.", {"400": {"description": "`before` is not a record id.", "content": _HTML}}
                ),
            }
        },
        **{
            path: {
                "get": {
                    "operationId": f"{op}Page",
                    "tags": ["pages"],
                    "summary": f"{summary} (`admin`).",
                    "security": _OPTIONAL_AUTH,
                    "responses": _page(f"The {op} page."),
                },
                "post": {
                    "operationId": f"{op}Form",
                    "tags": ["pages"],
                    "summary": f"{summary}: a form action (`admin`; the form's `csrf` field must match the session).",
                    "security": _OPTIONAL_AUTH,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {
                                "schema": {
                                    "type": "object",
                                    "properties": {f: {"type": "string"} for f in fields},
                                }
                            }
                        },
                    },
                    "responses": _page(f"The {op} page with the outcome of the action."),
                },
            }
            for path, op, summary, fields in (
                (
                    "/admin/displays",
                    "displays",
                    "Wall displays: pairing codes, rename, revoke",
                    ("csrf", "action", "ward", "label", "id"),
                ),
                (
                    "/admin/users",
                    "users",
                    "Staff accounts: add, disable, new password",
                    ("csrf", "action", "username", "name", "role", "wards", "password"),
                ),
            )
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built once per process. Callers must not modify it."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Ward Whiteboard",
            "version": whiteboard.__version__,
            "summary": "A real-time NHS ward whiteboard: wall boards and nurses' phones, live.",
            "description": _DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "security": [{"bearer": []}, {"cookie": []}],
        "tags": [
            {"name": "wards"},
            {"name": "beds"},
            {"name": "audit"},
            {"name": "health"},
            {"name": "pages", "description": "HTML pages for browsers."},
            {"name": "meta"},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": f"{store.TOKEN_PREFIX}...",
                    "description": "A token from `whiteboard token create --role ROLE [--ward WARD ...]`.",
                },
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": auth.COOKIE_NAME,
                    "description": "The session the login page sets. Writes also need the X-Whiteboard-Client header.",
                },
            },
            "parameters": _PARAMETERS,
            "schemas": {**_REQUEST_SCHEMAS, **_RESPONSE_SCHEMAS},
        },
        "x-websockets": {
            "/ws/wards/{ward}": {
                "summary": "Live ward updates: snapshot or resume, then events and heartbeats (see info.description).",
                "query": {"since": {"pattern": OFFSET_PATTERN}, "epoch": {"type": "string"}},
                "messages": ["snapshot", "event", "resumed", "heartbeat"],
            }
        },
    }


@functools.cache
def document_bytes() -> bytes:
    return orjson.dumps(document())


async def openapi_json(request: Request) -> Response:
    """`GET /openapi.json`: no credential needed (it describes the API, not any ward's data)."""
    return Response(document_bytes(), media_type="application/json")
