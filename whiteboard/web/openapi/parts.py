"""Pieces many operations of the OpenAPI document share: parameters, headers, error answers, security."""

from __future__ import annotations

from typing import Any, Final

JSONSchema = dict[str, Any]


def ref(name: str) -> JSONSchema:
    return {"$ref": f"#/components/schemas/{name}"}


PARAMETERS: Final[dict[str, JSONSchema]] = {
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

ETAG_HEADER: Final = {"description": "The ward's current version.", "schema": {"type": "string"}}
BED_ETAG_HEADER: Final = {
    "description": 'The bed\'s version after the write (`"bed-N.xxxxxxxx"`), for the next If-Match.',
    "schema": {"type": "string"},
}
LOCATION_HEADER: Final = {"description": "Where to go next.", "schema": {"type": "string"}}
HTML: Final = {"text/html": {"schema": {"type": "string"}}}


def json_content(schema: JSONSchema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(ref("Error"))}


ERRORS: Final[dict[str, dict[str, Any]]] = {
    "400": error("Malformed: bad JSON, an empty body, or a bad query parameter."),
    "401": {
        **error("No credential, or an unknown or revoked one."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    "403": error("The credential lacks the right (or a cookie-authenticated write lacks X-Whiteboard-Client)."),
    "404": error("Unknown ward or bed."),
    "409": error("The other bed is not free (`bed_occupied`: it has a patient; `bed_not_ready`: not `empty`)."),
    "410": error("Events after `since` are no longer kept for this epoch: load the snapshot again."),
    "412": error("If-Match names a version this bed has moved on from (or is not a version of it)."),
    "422": error("Well-formed but invalid; `field` names the culprit."),
    "429": {
        **error("Too many changes (or connects) from this credential: wait `Retry-After` seconds."),
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}
        },
    },
    "503": error("A backing service (database or event log) is down; nothing was saved."),
}


def errors(*codes: int) -> dict[str, dict[str, Any]]:
    return {str(c): ERRORS[str(c)] for c in codes}


def ok(description: str, schema: JSONSchema, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": json_content(schema)}
    if headers:
        answer["headers"] = headers
    return answer


def body(schema_name: str) -> dict[str, Any]:
    return {"required": True, "content": json_content(ref(schema_name))}


def page(description: str, extra: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Responses of a signed-in HTML page: the page, a redirect to sign in, or an HTML problem page."""
    return {
        "200": {"description": description, "content": HTML},
        "303": {"description": "No credential: to the login page.", "headers": {"Location": LOCATION_HEADER}},
        "403": {"description": "The credential may not open this page (an HTML problem page).", "content": HTML},
        "503": ERRORS["503"],
        **(extra or {}),
    }


# Reading needs no credential for these; `[{}]` in `security` makes the credential optional.
NO_AUTH: Final[list[dict[str, list[str]]]] = []
OPTIONAL_AUTH: Final[list[dict[str, list[str]]]] = [{}, {"bearer": []}, {"cookie": []}]
# Every endpoint that needs a credential looks it up: 503 when the database is down. Changes to beds are rate
# limited per credential (429).
API_ERRORS: Final = (401, 403, 503)
