"""Signing in and out: the login form, OpenID Connect, the session cookie, sign-out (login CSRF checked)."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from whiteboard import store
from whiteboard.access import auth
from whiteboard.access.auth import Principal
from whiteboard.access.kiosks import Kiosks, looks_like_code
from whiteboard.access.oidc import FLOW_COOKIE, Oidc, OidcError
from whiteboard.state import wb
from whiteboard.store import Actor
from whiteboard.web.http import log_refusal, security_log
from whiteboard.web.pages.render import (
    home_for,
    page_actor,
    page_principal,
    problem,
    render,
    set_session_cookie,
)


def safe_next(raw: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything else (other hosts, `//x`, `\\x`) is dropped."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")) or any(c in raw for c in "\r\n\t"):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw


def _same_origin_post(request: Request) -> bool:
    """Sign-in and sign-out forms only from our own pages (login CSRF).

    Browsers send `Origin` on every POST; an opaque one (`null`: a sandboxed frame, a `data:` page, some
    redirects) or none at all is refused unless `Sec-Fetch-Site` or `Referer` shows our own page sent it.
    Scripts and monitoring that sign in send `Origin` naming this server."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        return urlsplit(origin).netloc == host
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    referer = request.headers.get("referer")
    return referer is not None and urlsplit(referer).netloc == host


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _printable(typed: str) -> str:
    """What someone typed as a username, fit for the audit trail: bounded (no real username is longer than
    64) and without control characters, which PostgreSQL text refuses."""
    return "".join(ch for ch in typed[:64] if ch.isprintable())


async def login(request: Request) -> Response:
    nxt = safe_next(request.query_params.get("next"))
    if request.method != "POST":  # GET and HEAD show the form; only a POST signs in (or counts as a failure)
        current = await page_principal(request)
        context = {"error": None, "next": nxt or "", "signed_in": current, "username": "", "oidc": _oidc(request)}
        return render(request, "login.html", context)
    if not _same_origin_post(request):
        return problem(request, 403, "Sign-in refused", "The sign-in form was sent from another site.")
    form = await request.form()
    token = str(form.get("token") or "").strip()
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    nxt = safe_next(str(form.get("next") or "")) or nxt
    state = wb(request)
    client = _client(request)
    keys = [f"ip:{client}"] + ([f"user:{username}"] if username else [])
    wait = max(state.login_limiter.blocked(k) for k in keys)
    if wait > 0:
        retry = str(max(1, round(wait + 0.5)))
        log_refusal(request, 429, "too_many_sign_ins", "sign-in")
        response = render(
            request,
            "login.html",
            {
                "error": f"Too many failed sign-ins. Wait {retry} seconds, then try again.",
                "next": nxt or "",
                "signed_in": None,
                "username": username,
                "oidc": _oidc(request),
            },
            429,
        )
        response.headers["Retry-After"] = retry
        return response
    session: str | None = None
    who: Principal | None = None
    method = "password"
    if username or password:
        user = await state.accounts.verify_password(username, password) if username and password else None
        if user is not None:
            who = user.principal()
            session = await state.accounts.start_session(user_id=user.id)
        error = "That username and password were not accepted. Check them, or ask your ward manager or IT team."
    else:
        method = "token"
        if looks_like_code(token):  # a wall screen being enrolled with an admin's pairing code
            method = "pairing"
            enrolled = await Kiosks(state.store).redeem(token)
            token = enrolled[1] if enrolled is not None else ""
        who = await state.auth.authenticate(token) if token.startswith(store.TOKEN_PREFIX) else None
        if who is not None:
            session = await state.accounts.start_session(credential_id=who.credential_id, kiosk=who.role == "display")
        error = (
            "That code or token was not accepted: it is unknown, used, expired or revoked. "
            "Check it, or ask an admin for a new one."
            if token or form.get("token")
            else "Enter your username and password, or a pairing code or access token."
        )
    if who is None or session is None:
        for key in keys:
            state.login_limiter.take(key)
        log_refusal(request, 401, "sign_in_failed", f"sign-in as {username!r}" if username else "token sign-in")
        # The name tried, never the password, token or code: the trail shows guessing without holding secrets.
        tried = _printable(username)
        await state.accounts.audit_sign_in(
            Actor(tried or f"({method})", "none", None, source="login"),
            ok=False,
            detail={"method": method, "client": client, "username": tried or None},
        )
        return render(
            request,
            "login.html",
            {"error": error, "next": nxt or "", "signed_in": None, "username": username, "oidc": _oidc(request)},
            401,
        )
    security_log.info("signed in", extra={"credential": who.credential_id, "role": who.role, "client": client})
    await state.accounts.audit_sign_in(
        page_actor(who, "pairing" if method == "pairing" else "login"),
        ok=True,
        detail={"method": method, "client": client},
    )
    target = home_for(who)
    if who.role != "display" and nxt is not None:
        target = nxt
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, who, session)
    response.headers["Cache-Control"] = "no-store"
    return response


def _oidc(request: Request) -> Oidc | None:
    state = wb(request)
    if not (state.settings.oidc_issuer and state.settings.oidc_client_id):
        return None
    if state.oidc is None:
        state.oidc = Oidc(state.settings, state.accounts)
    return cast(Oidc, state.oidc)


async def oidc_start(request: Request) -> Response:
    """Sign in with the organisation's identity provider (OpenID Connect)."""
    oidc = _oidc(request)
    if oidc is None:
        return problem(request, 404, "Not configured", "Single sign-on is not set up on this server.")
    try:
        url, flow = await oidc.start(str(request.url_for("oidc_callback")), safe_next(request.query_params.get("next")))
    except OidcError as exc:
        return problem(request, 503, "Sign-in unavailable", str(exc))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        flow,
        max_age=600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


async def oidc_callback(request: Request) -> Response:
    oidc = _oidc(request)
    if oidc is None:
        return problem(request, 404, "Not configured", "Single sign-on is not set up on this server.")
    state = wb(request)
    try:
        user, flow = await oidc.finish(
            str(request.url_for("oidc_callback")), dict(request.query_params), request.cookies.get(FLOW_COOKIE)
        )
    except OidcError as exc:
        log_refusal(request, 403, "oidc_refused", "single sign-on")
        client = _client(request)
        # Counted like a failed password, so a flood of forged callbacks cannot fill the audit trail.
        if state.login_limiter.take(f"ip:{client}") == 0:
            await state.accounts.audit_sign_in(
                Actor("(oidc)", "none", None, source="oidc"), ok=False, detail={"method": "oidc", "client": client}
            )
        return problem(request, 403, "Not signed in", str(exc))
    who = user.principal()
    session = await state.accounts.start_session(user_id=user.id)
    security_log.info("signed in", extra={"credential": who.credential_id, "role": who.role, "via": "oidc"})
    await state.accounts.audit_sign_in(
        page_actor(who, "oidc"), ok=True, detail={"method": "oidc", "client": _client(request)}
    )
    response = RedirectResponse(flow.next or home_for(who), status_code=303)
    set_session_cookie(request, response, who, session)
    response.delete_cookie(FLOW_COOKIE, path="/login")
    response.headers["Cache-Control"] = "no-store"
    return response


async def logout(request: Request) -> Response:
    """Ends this browser's session, or with `everywhere` every session of the person signed in."""
    if not _same_origin_post(request):
        return problem(request, 403, "Sign-out refused", "The sign-out form was sent from another site.")
    state = wb(request)
    token = request.cookies.get(auth.COOKIE_NAME)
    form = await request.form()
    if token:
        who = await state.auth.authenticate(token)
        if who is not None and form.get("everywhere"):
            await state.accounts.end_all_sessions(who, page_actor(who, "logout"))
            state.auth.forget()
        elif who is not None and token.startswith(auth.SESSION_PREFIX):
            await state.accounts.end_session(token, page_actor(who, "logout"))
        if who is not None:
            security_log.info(
                "signed out",
                extra={"credential": who.credential_id, "role": who.role, "everywhere": bool(form.get("everywhere"))},
            )
        state.auth.forget(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response
