"""`GET /openapi.json`: an OpenAPI 3.1 description of every HTTP endpoint (CONTRACT.md, "HTTP" and "Pages").

The body schemas are derived from the wire models (`domain.wire`), the same ones the server parses requests with, so
the document cannot say one thing while the parser does another. The limits it states (body size, events page,
heartbeat) are the running server's, read from the `Settings` the app was built with, not the class defaults.
`tests/test_openapi.py` keeps it true: every route is described, and a schemathesis run against a real server
finds no 5xx and no answer the document does not allow, with and without credentials.

The WebSocket `/ws/wards/{ward}` cannot be modelled as an OpenAPI operation; it is described in
`info.description` and under the `x-websockets` extension, never in `paths`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

import whiteboard
from whiteboard import store
from whiteboard.access import auth
from whiteboard.domain import redact
from whiteboard.domain.wire.schema import components
from whiteboard.domain.wire.values import OFFSET_PATTERN
from whiteboard.settings import Settings
from whiteboard.state import wb
from whiteboard.web.openapi import api_paths, fhir_paths, page_paths
from whiteboard.web.openapi.parts import PARAMETERS


def description(settings: Settings) -> str:
    return f"""\
The wire contract of Ward Whiteboard: JSON API, health and metrics, and the HTML pages.

**Credentials.** `Authorization: Bearer TOKEN` (tokens come from `whiteboard token create`), or the
`{auth.COOKIE_NAME}` session cookie the login page sets. No credential: 401. A credential without the right: 403.
A cookie-authenticated write (PATCH, POST, PUT) must also carry the `X-Whiteboard-Client` header (CSRF).
Roles, least to most: `display`, `viewer`, `nurse`, `ward_manager`, `admin`; `ops` stands beside that ladder.

**Errors** are `{{"error": {{"code", "message", "field"?}}}}` with 400 (malformed), 401, 403, 404 (unknown ward or
bed), 410 (events no longer kept), 412 (stale If-Match), 413 (body over {settings.max_body_bytes} bytes),
422 (well-formed but invalid), 429 (rate limited) and 503 (a backing service is down). Never a 500 for
anything a client sent. Whole numbers are sent without a fraction (`1`, not `1.0`).

**Offsets** are strings `A-B` of two non-negative integers (pattern `{OFFSET_PATTERN}`); `0-0` is before the
first event. An **epoch** names one incarnation of a ward's event log.

**WebSocket** (not an OpenAPI operation, so not under `paths`): `GET /ws/wards/{{ward}}` upgrades, with the same
credentials as HTTP (a cookie credential from a foreign `Origin` is refused). Optional query
`since=OFFSET&epoch=EPOCH`. Server-to-client text frames, one JSON object each: `snapshot` (the ward snapshot
fields, first when there is no `since`, or with `"recovered": false` when `since`/`epoch` cannot be resumed),
`event` (`epoch`, `offset`, `event`; every change, in offset order, once per connection), `resumed` (`epoch`,
`offset`, `"recovered": true`, after replaying everything after `since`), `heartbeat` (`offset`, `at`; at least
every {settings.heartbeat_secs:g} s when nothing else is sent). A missing or refused credential, or an unknown
ward, refuses the upgrade (HTTP 403); connecting too often from one credential is a 429 with `Retry-After`.
Close codes: 1003 (binary frame), 1008 (malformed frame, bad `since`), 1009 (frame over
{settings.ws_max_message_bytes} bytes), 1011 (a backing service is down), 1012 (resume by offset), 1013 (slow
client: resume by offset).

**FHIR R4** (4.0.1) under `/fhir`, `application/fhir+json`, refusals as `OperationOutcome`s: see `/fhir/metadata`.
Its WebSocket `GET /fhir/ws` carries Subscription notifications (Subscriptions Backport IG): send
`bind-with-token TOKEN` with a token from `$get-ws-binding-token`, then receive `handshake`, `heartbeat` and
`event-notification` Bundles; a bad or used token closes with 1008.
"""


def document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 document for a server running with `settings`."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Ward Whiteboard",
            "version": whiteboard.__version__,
            "summary": "A real-time NHS ward whiteboard: wall boards and nurses' phones, live.",
            "description": description(settings),
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
            {"name": "fhir", "description": "FHIR R4 (4.0.1) under /fhir: application/fhir+json, OperationOutcomes."},
        ],
        "paths": {**api_paths.paths(settings), **page_paths.paths(auth.COOKIE_NAME), **fhir_paths.paths()},
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
            "parameters": PARAMETERS,
            "schemas": components(redact.DISPLAYABLE - redact.NEVER_ON_DISPLAY),
        },
        "x-websockets": {
            "/ws/wards/{ward}": {
                "summary": "Live ward updates: snapshot or resume, then events and heartbeats (see info.description).",
                "query": {"since": {"pattern": OFFSET_PATTERN}, "epoch": {"type": "string"}},
                "messages": ["snapshot", "event", "resumed", "heartbeat"],
            },
            "/fhir/ws": {
                "summary": "FHIR Subscription notifications: send `bind-with-token TOKEN` (from "
                "$get-ws-binding-token), then receive handshake, heartbeat and event-notification Bundles "
                "(Subscriptions Backport IG).",
                "messages": ["handshake", "heartbeat", "event-notification"],
            },
        },
    }


def document_bytes(settings: Settings) -> bytes:
    return orjson.dumps(document(settings))


async def openapi_json(request: Request) -> Response:
    """`GET /openapi.json`: no credential needed (it describes the API, not any ward's data). Built on first
    request and kept in the app's state: the settings do not change while it runs."""
    state = wb(request)
    if state.openapi is None:
        state.openapi = document_bytes(state.settings)
    return Response(state.openapi, media_type="application/json")
