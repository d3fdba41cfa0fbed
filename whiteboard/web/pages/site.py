"""HTML pages (CONTRACT.md, "Pages"): the wall board, the phone view, the ops page and sign-in.

Pages render `displays/templates` with context that has already passed the one privacy filter
(`WardView.snapshot(audience)`), so a display page never holds what its credential may not see. All
behaviour is in `displays/static/js`: no inline script (the CSP below forbids it); data reaches the
scripts through `data-*` attributes and `<script type="application/json">` blocks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, cast
from urllib.parse import urlencode, urlsplit

import jinja2
import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

import whiteboard
from whiteboard.access import auth, nav
from whiteboard.access.auth import Principal
from whiteboard.access.kiosks import Kiosks, looks_like_code
from whiteboard.access.oidc import FLOW_COOKIE, Oidc, OidcError
from whiteboard.domain import beds as domain
from whiteboard.errors import ApiError
from whiteboard.state import wb
from whiteboard.store import Actor
from whiteboard.web import api
from whiteboard.web.http import credential_token, log_refusal, security_log
from whiteboard.web.static import StaticVersions

# A kiosk is enrolled once and must never log itself out (the token can still be revoked). Chromium caps
# any cookie at 400 days, so the board page renews it on every load.
DISPLAY_COOKIE_MAX_AGE_SECS: Final = 10 * 365 * 24 * 3600
# Pages hold patient data for staff: never cached. The CSP and the other security headers are the one set
# `security.SecurityHeaders` puts on every answer.
PAGE_HEADERS: Final = {"Cache-Control": "no-store"}
FLAG_LABELS: Final = {
    "falls": ("Falls", "Falls risk"),
    "pressure_damage": ("PU", "Pressure damage risk"),
    "nil_by_mouth": ("NBM", "Nil by mouth"),
    "nutrition": ("Nutr", "Nutrition risk"),
    "dementia": ("Dem", "Dementia"),
    "frailty": ("Frail", "Frailty"),
    "learning_disability": ("LD", "Learning disability"),
    "allergy": ("Allergy", "Allergy"),
    "infection": ("IPC", "Infection risk (IPC)"),
    "isolation": ("Isol", "Isolation"),
    "dnacpr": ("DNACPR", "DNACPR / ceiling of care"),
    "similar_name": ("Name!", "Similar name on ward"),
}
# Codes a reader might not guess; the board's key explains only these (space on a wall is precious).
LEGEND_FLAGS: Final = ("pressure_damage", "nil_by_mouth", "nutrition", "learning_disability", "infection", "isolation",
                       "dnacpr", "similar_name")
FIELD_LABELS: Final = {
    "initials": "Initials",
    "sex": "Sex",
    "age": "Age",
    "consultant": "Consultant",
    "named_nurse": "Named nurse",
    "admitted_at": "Admitted (length of stay)",
    "edd": "Expected discharge date (EDD)",
    "medically_optimised": "Medically optimised",
    "discharge_pathway": "Discharge pathway",
    "discharge_status": "Discharge status",
    "red_green": "Red / green day",
    "news2": "NEWS2 and obs due",
    "flags": "Safety flags (coded)",
    "tasks_pending": "Count of pending tasks",
}


# --- templates -------------------------------------------------------------------------------


def displays_dir() -> Path:
    """`displays/` beside the package in a checkout, else the copy the wheel carries as `_displays`."""
    package = Path(whiteboard.__file__).resolve().parent
    for candidate in (package.parent / "displays", package / "_displays"):
        if (candidate / "templates").is_dir():
            return candidate
    raise RuntimeError(f"the displays folder is missing (looked beside and inside {package})")


def json_script(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no `</script>`, no `<!--`, no HTML entities."""
    text = orjson.dumps(value).decode()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def build_templates() -> Jinja2Templates:
    root = displays_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = StaticVersions(root / "static")
    env.filters["json_script"] = json_script
    env.globals["pages_for"] = nav.pages_for  # the admin bar's links, from the same checks as the pages
    return Jinja2Templates(env=env)


def static_dir() -> Path:
    return displays_dir() / "static"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    templates: Jinja2Templates | None = wb(request).templates
    if templates is None:
        templates = wb(request).templates = build_templates()
    return templates.TemplateResponse(request, name, context, status_code=status, headers=PAGE_HEADERS)


# --- credentials -----------------------------------------------------------------------------


async def _principal(request: Request) -> Principal | None:
    token, _ = credential_token(request)
    return await wb(request).auth.authenticate(token) if token else None


def _to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)


def _problem(request: Request, status: int, title: str, message: str, who: Principal | None = None,
             link: tuple[str, str] | None = None) -> Response:
    context = {"title": title, "message": message, "status": status, "who": who, "link": link}
    return render(request, "problem.html", context, status)


def safe_next(raw: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything else (other hosts, `//x`, `\\x`) is dropped."""
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")) or any(c in raw for c in "\r\n\t"):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return None
    return raw


def home_for(who: Principal) -> str:
    """Where a sign-in lands: a kiosk on its board, ops on its page, nurses on the phone view, and those
    with more than one place to go (ward managers, admins) on the home page that lists them."""
    if who.role == "display" and who.wards:
        return f"/board/{who.wards[0]}"
    if who.role == "ops":
        return "/ops"
    if who.at_least("ward_manager"):
        return "/"
    return "/m"


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


def _actor(who: Principal, source: str) -> Actor:
    return Actor(who.name, who.role, who.credential_id, source=source)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _printable(typed: str) -> str:
    """What someone typed as a username, fit for the audit trail: bounded (no real username is longer than
    64) and without control characters, which PostgreSQL text refuses."""
    return "".join(ch for ch in typed[:64] if ch.isprintable())


# --- pages -----------------------------------------------------------------------------------


async def root(request: Request) -> Response:
    """Home: every page and board this credential may open (a kiosk goes straight to its board)."""
    who = await _principal(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    if who.role == "display":
        return RedirectResponse(home_for(who), status_code=303)
    wards = await wb(request).store.list_wards()
    context = {"who": who, "links": nav.pages_for(who), "boards": nav.boards_for(who, wards)}
    return render(request, "home.html", context)


async def login(request: Request) -> Response:
    nxt = safe_next(request.query_params.get("next"))
    if request.method != "POST":  # GET and HEAD show the form; only a POST signs in (or counts as a failure)
        current = await _principal(request)
        context = {"error": None, "next": nxt or "", "signed_in": current, "username": "", "oidc": _oidc(request)}
        return render(request, "login.html", context)
    if not _same_origin_post(request):
        return _problem(request, 403, "Sign-in refused", "The sign-in form was sent from another site.")
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
        response = render(request, "login.html", {
            "error": f"Too many failed sign-ins. Wait {retry} seconds, then try again.", "next": nxt or "",
            "signed_in": None, "username": username, "oidc": _oidc(request)}, 429)
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
        who = await state.auth.authenticate(token) if token.startswith(auth.TOKEN_PREFIX) else None
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
        await state.accounts.audit_sign_in(Actor(tried or f"({method})", "none", None, source="login"), ok=False,
                                           detail={"method": method, "client": client, "username": tried or None})
        return render(request, "login.html", {"error": error, "next": nxt or "", "signed_in": None,
                                              "username": username, "oidc": _oidc(request)}, 401)
    security_log.info("signed in", extra={"credential": who.credential_id, "role": who.role, "client": client})
    await state.accounts.audit_sign_in(_actor(who, "pairing" if method == "pairing" else "login"), ok=True,
                                       detail={"method": method, "client": client})
    target = home_for(who)
    if who.role != "display" and nxt is not None:
        target = nxt
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, who, session)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_session_cookie(request: Request, response: Response, who: Principal, token: str) -> None:
    max_age = DISPLAY_COOKIE_MAX_AGE_SECS if who.role == "display" else wb(request).settings.session_max_age_secs
    response.set_cookie(auth.COOKIE_NAME, token, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


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
        return _problem(request, 404, "Not configured", "Single sign-on is not set up on this server.")
    try:
        url, flow = await oidc.start(str(request.url_for("oidc_callback")), safe_next(request.query_params.get("next")))
    except OidcError as exc:
        return _problem(request, 503, "Sign-in unavailable", str(exc))
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(FLOW_COOKIE, flow, max_age=600, path="/login", httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    return response


async def oidc_callback(request: Request) -> Response:
    oidc = _oidc(request)
    if oidc is None:
        return _problem(request, 404, "Not configured", "Single sign-on is not set up on this server.")
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
            await state.accounts.audit_sign_in(Actor("(oidc)", "none", None, source="oidc"), ok=False,
                                               detail={"method": "oidc", "client": client})
        return _problem(request, 403, "Not signed in", str(exc))
    who = user.principal()
    session = await state.accounts.start_session(user_id=user.id)
    security_log.info("signed in", extra={"credential": who.credential_id, "role": who.role, "via": "oidc"})
    await state.accounts.audit_sign_in(_actor(who, "oidc"), ok=True, detail={"method": "oidc",
                                                                            "client": _client(request)})
    response = RedirectResponse(flow.next or home_for(who), status_code=303)
    set_session_cookie(request, response, who, session)
    response.delete_cookie(FLOW_COOKIE, path="/login")
    response.headers["Cache-Control"] = "no-store"
    return response


async def logout(request: Request) -> Response:
    """Ends this browser's session, or with `everywhere` every session of the person signed in."""
    if not _same_origin_post(request):
        return _problem(request, 403, "Sign-out refused", "The sign-out form was sent from another site.")
    state = wb(request)
    token = request.cookies.get(auth.COOKIE_NAME)
    form = await request.form()
    if token:
        who = await state.auth.authenticate(token)
        if who is not None and form.get("everywhere"):
            await state.accounts.end_all_sessions(who, _actor(who, "logout"))
            state.auth.forget()
        elif who is not None and token.startswith(auth.SESSION_PREFIX):
            await state.accounts.end_session(token, _actor(who, "logout"))
        if who is not None:
            security_log.info("signed out", extra={"credential": who.credential_id, "role": who.role,
                                                   "everywhere": bool(form.get("everywhere"))})
        state.auth.forget(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return response


async def board(request: Request) -> Response:
    """The wall display: the ward as the credential may see it, then live over the WebSocket."""
    who = await _principal(request)
    if who is None:
        return _to_login(request)
    ward_id = request.path_params["ward"]
    if not who.can_read_ward(ward_id):
        return _problem(request, 403, "Not allowed", f"This credential does not show ward {ward_id}.", who,
                        (home_for(who), "Go to your start page"))
    state = wb(request)
    try:
        ch = await state.hub.channel(ward_id)
    except ApiError as exc:
        if exc.status == 404:
            return _problem(request, 404, "No such ward", f"There is no ward called {ward_id}.", who)
        raise
    view = ch.view
    audience = view.audience_for(who.role)
    # Staff opening a board receive the full record in the page: that is a read like any other.
    await api.audit_read(request, who, view.id, "read.board_page", {"offset": view.offset})
    context = {
        "ward": {"id": view.id, "name": view.name},
        "snapshot": view.snapshot(audience),
        "who": who,
        "stale_secs": state.settings.board_stale_secs,
        "server_now": domain.iso(domain.utc_now()),
        "flag_labels": {k: v for k, v in FLAG_LABELS.items() if audience.display_fields is None or k != "dnacpr"},
        "legend_flags": [f for f in LEGEND_FLAGS if audience.display_fields is None or f != "dnacpr"],
    }
    response = render(request, "board.html", context)
    token, from_cookie = credential_token(request)
    if who.role == "display" and from_cookie and token:
        # Browsers keep a cookie at most ~400 days whatever we ask: every board load renews the kiosk's.
        set_session_cookie(request, response, who, token)
    return response


async def mobile(request: Request) -> Response:
    """The phone view: wards, beds and editing for staff; views switch client-side under `#/`."""
    who = await _principal(request)
    if who is None:
        return _to_login(request)
    if who.role == "display":
        ward = who.wards[0] if who.wards else ""
        return _problem(request, 403, "This is a wall-display credential",
                        "A display credential shows one ward's public board and cannot open the staff view.", who,
                        (f"/board/{ward}", "Open the board"))
    if not who.at_least("viewer"):
        return _problem(request, 403, "No ward access", "This credential sees no patient data (it is for the ops "
                        "team).", who, (home_for(who), "Open the ops page"))
    wards = [{"id": w.id, "name": w.name, "beds": w.beds} for w in await wb(request).store.list_wards()
             if who.covers(w.id)]
    context = {
        "who": who,
        "wards": wards,
        "config": {
            "role": who.role,
            "name": who.name,
            "canWrite": who.at_least("nurse"),
            "isAdmin": who.at_least("admin"),
            "staleSecs": wb(request).settings.board_stale_secs,
            "serverNow": domain.iso(domain.utc_now()),
            "statuses": list(domain.STATUSES),
            "flags": [{"code": f, "short": FLAG_LABELS[f][0], "label": FLAG_LABELS[f][1]} for f in domain.FLAGS],
            "taskKinds": list(domain.TASK_KINDS),
            "dischargeStatuses": list(domain.DISCHARGE_STATUSES),
            "notesMax": domain.NOTES_MAX_CHARS,
            "tasksMax": domain.TASKS_MAX,
            "fieldLabels": FIELD_LABELS,
        },
    }
    return render(request, "mobile.html", context)


async def ops_page(request: Request) -> Response:
    who = await _principal(request)
    if who is None:
        return _to_login(request)
    if not who.sees_metrics:
        return _problem(request, 403, "Not allowed", "The ops page is for the ops and admin roles.", who,
                        (home_for(who), "Go to your start page"))
    return render(request, "ops.html", {"who": who})
