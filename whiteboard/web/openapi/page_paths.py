"""The OpenAPI paths of the HTML pages: sign-in, boards, the phone view, ops, audit and admin."""

from __future__ import annotations

from typing import Any

from whiteboard.web.openapi.parts import ERRORS, HTML, LOCATION_HEADER, NO_AUTH, OPTIONAL_AUTH, json_content, page, ref


def paths(cookie_name: str) -> dict[str, Any]:
    """`paths` for the pages (`cookie_name`: the session cookie the login page sets)."""
    ward = {"$ref": "#/components/parameters/ward"}
    return {
        "/": {
            "get": {
                "operationId": "root",
                "tags": ["pages"],
                "summary": "Home: the pages and boards this credential may open; a display goes to its board, "
                "no credential to the login page.",
                "security": OPTIONAL_AUTH,
                "responses": {
                    "200": {"description": "The home page.", "content": HTML},
                    "303": {"description": "Redirect.", "headers": {"Location": LOCATION_HEADER}},
                    "503": ERRORS["503"],
                },
            }
        },
        "/login": {
            "get": {
                "operationId": "loginPage",
                "tags": ["pages"],
                "summary": "The sign-in page.",
                "security": OPTIONAL_AUTH,
                "parameters": [
                    {
                        "name": "next",
                        "in": "query",
                        "required": False,
                        "description": "A same-site path to return to after signing in.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "The sign-in form.", "content": HTML}, "503": ERRORS["503"]},
            },
            "post": {
                "operationId": "login",
                "tags": ["pages"],
                "summary": "Sign in as staff (username and password) or with a bearer token (how a kiosk is enrolled); "
                "starts a session and sets its cookie.",
                "security": NO_AUTH,
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
                        "description": f"Signed in: the `{cookie_name}` cookie is set; to the start page.",
                        "headers": {"Location": LOCATION_HEADER, "Set-Cookie": {"schema": {"type": "string"}}},
                    },
                    "400": ERRORS["400"],
                    "401": {
                        "description": "The username and password, or the token, were not accepted (the form again).",
                        "content": HTML,
                    },
                    "403": {
                        "description": "The form was sent from another site, or with an opaque or missing `Origin` "
                        "that neither `Sec-Fetch-Site` nor `Referer` shows to be this server's page.",
                        "content": HTML,
                    },
                    "429": {
                        "description": "Too many failed sign-ins from this address or for this username.",
                        "content": HTML,
                        "headers": {"Retry-After": {"schema": {"type": "string"}}},
                    },
                    "503": ERRORS["503"],
                },
            },
        },
        "/login/oidc": {
            "get": {
                "operationId": "oidcStart",
                "tags": ["pages"],
                "summary": "Sign in with the organisation's OpenID Connect provider: to its authorisation page.",
                "security": NO_AUTH,
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
                    "303": {"description": "To the identity provider.", "headers": {"Location": LOCATION_HEADER}},
                    "404": {"description": "Single sign-on is not configured.", "content": HTML},
                    "503": {"description": "The identity provider does not answer.", "content": HTML},
                },
            }
        },
        "/login/oidc/callback": {
            "get": {
                "operationId": "oidcCallback",
                "tags": ["pages"],
                "summary": "Where the identity provider sends the browser back; starts a session.",
                "security": NO_AUTH,
                "parameters": [
                    {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                    for n in ("code", "state", "error", "error_description")
                ],
                "responses": {
                    "303": {
                        "description": f"Signed in: the `{cookie_name}` cookie is set; to the start page.",
                        "headers": {"Location": LOCATION_HEADER, "Set-Cookie": {"schema": {"type": "string"}}},
                    },
                    "403": {"description": "The sign-in was refused or could not be verified.", "content": HTML},
                    "404": {"description": "Single sign-on is not configured.", "content": HTML},
                },
            }
        },
        "/logout": {
            "post": {
                "operationId": "logout",
                "tags": ["pages"],
                "summary": "Sign out: ends this session (or, with the form field `everywhere`, every session of the "
                "person signed in) and clears the cookie.",
                "security": OPTIONAL_AUTH,
                "responses": {
                    "303": {"description": "Signed out; to the login page.", "headers": {"Location": LOCATION_HEADER}},
                    "403": {
                        "description": "The form was sent from another site, or with an opaque or missing `Origin` "
                        "that neither `Sec-Fetch-Site` nor `Referer` shows to be this server's page.",
                        "content": HTML,
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
                "security": OPTIONAL_AUTH,
                "responses": page(
                    "The board, live over the WebSocket.",
                    {
                        "404": {
                            "description": "No such ward: an HTML problem page (JSON for an id no ward can have).",
                            "content": {**HTML, **json_content(ref("Error"))},
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
                "security": OPTIONAL_AUTH,
                "responses": page("The phone view."),
            }
        },
        "/ops": {
            "get": {
                "operationId": "opsPage",
                "tags": ["pages"],
                "summary": "Live figures for the ops team (`ops` and `admin`).",
                "security": OPTIONAL_AUTH,
                "responses": page("The ops page."),
            }
        },
        "/audit": {
            "get": {
                "operationId": "auditPage",
                "tags": ["pages"],
                "summary": "The audit trail with filters and a CSV download (`ward_manager` and `admin`).",
                "security": OPTIONAL_AUTH,
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
                "responses": page(
                    "The audit page.", {"400": {"description": "`before` is not a record id.", "content": HTML}}
                ),
            }
        },
        **{
            path: {
                "get": {
                    "operationId": f"{op}Page",
                    "tags": ["pages"],
                    "summary": f"{summary} (`admin`).",
                    "security": OPTIONAL_AUTH,
                    "responses": page(f"The {op} page."),
                },
                "post": {
                    "operationId": f"{op}Form",
                    "tags": ["pages"],
                    "summary": f"{summary}: a form action (`admin`; the form's `csrf` field must match the session).",
                    "security": OPTIONAL_AUTH,
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
                    "responses": page(f"The {op} page with the outcome of the action."),
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
