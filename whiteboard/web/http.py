"""HTTP plumbing shared by the API and the pages: credentials, bounded bodies, JSON answers, error rendering."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import Response

from whiteboard.access.auth import COOKIE_NAME, Principal, bearer_token, unauthorized
from whiteboard.domain.numbers import whole_number
from whiteboard.errors import ApiError
from whiteboard.eventlog import EventLogUnavailable
from whiteboard.state import wb
from whiteboard.store import Actor, StoreUnavailable, hash_token

log = logging.getLogger("whiteboard.http")

JSON_TYPE = "application/json"


class JSONResponse(Response):
    media_type = JSON_TYPE

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def credential_token(conn: HTTPConnection) -> tuple[str | None, bool]:
    """(token, came from the cookie). A header wins over a cookie."""
    token = bearer_token(conn.headers.get("authorization"))
    if token is not None:
        return token, False
    cookie = conn.cookies.get(COOKIE_NAME)
    return (cookie, True) if cookie else (None, False)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Cookie-authenticated API writes must carry this header. A cross-site form cannot set custom headers, so
# this stops CSRF for the pages' own fetch() calls; the admin pages' HTML form posts carry a per-session
# CSRF token instead (web.pages.admin), and sign-in and sign-out forms are checked by origin (web.pages.login).
CLIENT_HEADER = "x-whiteboard-client"


async def principal(conn: HTTPConnection) -> Principal:
    token, from_cookie = credential_token(conn)
    if token is None:
        raise unauthorized()
    found = await wb(conn).auth.authenticate(token)
    if found is None:
        raise unauthorized("this credential is unknown or revoked: ask an admin for a new one")
    method = conn.scope.get("method", "GET")
    if from_cookie and method not in SAFE_METHODS and not conn.headers.get(CLIENT_HEADER):
        raise ApiError(403, "csrf", f"a cookie-authenticated {method} needs the {CLIENT_HEADER} header")
    return found


async def read_json(request: Request) -> Any:
    """The body as JSON, refusing (413) anything over the limit before reading it in full."""
    limit = wb(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None:
        size = whole_number(declared.strip())
        if size is None:
            raise ApiError(400, "bad_request", "Content-Length is not a whole number of at most 18 digits")
        if size > limit:
            raise ApiError(413, "too_large", f"the body is {size} bytes; at most {limit} are accepted")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    if not body:
        raise ApiError(400, "malformed", "the body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed", f"the body is not valid JSON: {exc}") from None


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Endpoint = Callable[[Request], Awaitable[Response]]


def counts_refusals(endpoint: Endpoint) -> Endpoint:
    """Count every refused write by its error code, wherever it was refused: a body that does not parse (400),
    a rule (422), a stale If-Match (412) and a missing right (401/403/429) before the write path, and a
    refusal by the write path itself. The write path counts what it commits; this counts what it never saw."""

    @functools.wraps(endpoint)
    async def counted(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as exc:
            if request.method in WRITE_METHODS and 400 <= exc.status < 500:
                wb(request).metrics.refused_write(exc.code)
            raise

    return counted


def error_response(exc: ApiError) -> Response:
    return JSONResponse(exc.body_bytes(), status_code=exc.status, headers=exc.headers)


security_log = logging.getLogger("whiteboard.security")
SECURITY_STATUSES = frozenset({401, 403, 429})


def log_refusal(conn: HTTPConnection, status: int, code: str, what: str) -> None:
    """Refused attempts go to the security log: who (credential id, never the token), from where, what."""
    token, from_cookie = credential_token(conn)
    security_log.warning(
        "refused %s: %s",
        what,
        code,
        extra={
            "status": status,
            "path": conn.url.path,
            "client": conn.client.host if conn.client else None,
            "credential": "cookie" if from_cookie else ("bearer" if token else None),
            "credential_hash": hash_token(token)[:12] if token else None,
        },
    )


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.status in SECURITY_STATUSES:
        log_refusal(request, exc.status, exc.code, f"{request.method} request")
    return error_response(exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
    code = codes.get(exc.status_code, "error")
    err = ApiError(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))
    return error_response(err)


async def handle_unavailable(request: Request, exc: Exception) -> Response:
    which = "database" if isinstance(exc, StoreUnavailable) else "event log"
    log.warning("503 on %s %s: %s", request.method, request.url.path, exc)
    return error_response(ApiError(503, "unavailable", f"the {which} is unavailable; try again shortly"))


# nginx's "client closed request": not an answer anyone receives, but a 4xx in the access log and the
# request metrics, so a phone losing signal mid-save is not counted as a server fault.
CLIENT_CLOSED = 499


async def handle_client_gone(request: Request, exc: Exception) -> Response:
    """The client hung up (or sent a body the HTTP parser refused, which uvicorn answered with a 400)."""
    log.info("client went away before its request body arrived: %s %s", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ApiError(500, "internal", "the server failed; the error is logged (nothing was saved)"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    StoreUnavailable: handle_unavailable,
    EventLogUnavailable: handle_unavailable,
    ClientDisconnect: handle_client_gone,
    Exception: handle_unexpected,
}


# --- shared by the handlers (api, ws, pages): handlers do not import handlers ---


def request_actor(who: Principal, request: HTTPConnection) -> Actor:
    """Who acts through this request: the credential's holder, from the phone view or the API."""
    source = "phone" if request.headers.get("x-whiteboard-client") == "phone" else "api"
    return Actor(name=who.name, role=who.role, credential_id=who.credential_id, source=source)


async def audit_read(
    request: HTTPConnection, who: Principal, ward_id: str, action: str, detail: dict[str, object]
) -> None:
    """A person reading identifiable data is audited before the data leaves (displays see none)."""
    if who.role == "display":
        return
    await wb(request).ingest.audit_read(ward_id, request_actor(who, request), action, detail)
