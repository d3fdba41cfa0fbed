"""Server-rendered admin pages: the audit trail (ward managers and admins), wall displays and staff
accounts (admins). Plain HTML forms, no script; every form post carries a CSRF token derived from the
session, and every change goes through the same store functions as the CLI, audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from whiteboard.access.accounts import AccountError
from whiteboard.access.auth import COOKIE_NAME, ROLES, Principal
from whiteboard.access.kiosks import Kiosks
from whiteboard.errors import ApiError
from whiteboard.state import wb
from whiteboard.store import Actor
from whiteboard.web.http import credential_token
from whiteboard.web.pages import audit_view
from whiteboard.web.pages.render import page_principal, problem, render, to_login

AUDIT_PAGE_ROWS = 50  # a screenful to read; older pages follow by record id
ADMIN_PAGE = "admin-page"  # the audit trail's `source` for changes made here
CSRF_REFUSED = "The form was not sent from this page (CSRF check); reload the page and try again."


def csrf_token(request: Request) -> str:
    """Bound to this browser's session: a page of another site cannot know it."""
    session = request.cookies.get(COOKIE_NAME, "")
    key = wb(request).settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + session.encode(), hashlib.sha256).hexdigest()[:40]


async def _form_checked(request: Request) -> dict[str, str] | None:
    form = await request.form()
    _, from_cookie = credential_token(request)
    given = str(form.get("csrf") or "")
    # A bearer header is not sent by a browser on its own, so only cookie sign-ins need the token.
    if from_cookie and not hmac.compare_digest(given, csrf_token(request)):
        return None
    return {k: str(v) for k, v in form.items()}


async def _gate(request: Request, floor: str) -> Principal | Response:
    who = await page_principal(request)
    if who is None:
        return to_login(request)
    if not who.at_least(floor):
        return problem(
            request, 403, "Not allowed", f"This page is for the {floor.replace('_', ' ')} role and above.", who
        )
    return who


def _actor(who: Principal) -> Actor:
    """The signed-in person, for the audit records of what they do on these pages."""
    return Actor(who.name, who.role, who.credential_id, source=ADMIN_PAGE)


def _when(raw: str | None, zone: ZoneInfo) -> dt.datetime | None:
    """A filter time as typed: in the wards' local time unless it says its own offset."""
    if not raw or len(raw) > 40:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def _record_id(raw: str | None) -> int | None:
    """The `before` of a page link: a record id, bounded before it becomes an int."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValueError(raw)
    return int(raw)


async def audit_page(request: Request) -> Response:
    """The audit trail with filters, newest first, a page at a time: each record says what changed
    (field: before → after) and when, in the wards' local time. The CSV (`GET /api/audit`) has it all."""
    who = await _gate(request, "ward_manager")
    if not isinstance(who, Principal):
        return who
    settings = wb(request).settings
    zone = settings.zone
    q = request.query_params
    filters = {k: q.get(k, "").strip() for k in ("ward", "bed", "person", "since", "until")}
    if filters["ward"] and not who.covers(filters["ward"]):
        return problem(request, 403, "Not allowed", f"This credential does not cover ward {filters['ward']}.", who)
    try:
        before = _record_id(q.get("before"))
    except ValueError:
        return problem(
            request,
            400,
            "Not a page of the audit trail",
            "The link's `before` is not a record number. Start again from the audit trail.",
            who,
            ("/audit", "Open the audit trail"),
        )
    since, until = _when(filters["since"], zone), _when(filters["until"], zone)
    found = await wb(request).store.audit(
        ward=filters["ward"] or None,
        wards=who.wards,
        bed=filters["bed"] or None,
        person=filters["person"] or None,
        since=since,
        until=until,
        limit=AUDIT_PAGE_ROWS + 1,
        before=before,
    )
    page = found[:AUDIT_PAGE_ROWS]
    kept = {k: v for k, v in filters.items() if v}
    older = f"/audit?{urlencode({**kept, 'before': page[-1]['id']})}" if len(found) > AUDIT_PAGE_ROWS else None
    newest = f"/audit?{urlencode(kept)}" if before is not None else None
    rows = [
        {**r, "when": audit_view.local_time(r["at"], zone), "changes": audit_view.changes(r["before"], r["after"])}
        for r in page
    ]
    # The CSV gets the same times, in UTC, so it holds the records this page lists.
    times = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
    csv_query = urlencode(
        {**{k: v for k, v in kept.items() if k not in ("since", "until")}, **times, "format": "csv", "limit": 5000}
    )
    return render(
        request,
        "audit.html",
        {
            "who": who,
            "records": rows,
            "filters": filters,
            "csv_url": f"/api/audit?{csv_query}",
            "limit": AUDIT_PAGE_ROWS,
            "zone": settings.timezone,
            "older_url": older,
            "newest_url": newest,
        },
    )


async def displays_page(request: Request) -> Response:
    """Enrolled wall displays: make a pairing code, rename, revoke."""
    who = await _gate(request, "admin")
    if not isinstance(who, Principal):
        return who
    state = wb(request)
    kiosks = Kiosks(state.store)
    message, code = "", None
    if request.method == "POST":
        form = await _form_checked(request)
        if form is None:
            return problem(request, 403, "Refused", CSRF_REFUSED, who)
        action = form.get("action")
        actor = _actor(who)
        try:
            if action == "pair":
                code, expires = await kiosks.new_code(
                    form.get("ward", ""), form.get("label", "").strip() or "display", actor=actor
                )
                message = f"Enter this code on the wall screen's sign-in page before {expires:%H:%M} UTC."
            elif action == "rename" and form.get("label", "").strip():
                await kiosks.rename(form.get("id", ""), form["label"].strip(), actor=actor)
                message = "Renamed."
            elif action == "revoke":
                if await state.store.revoke_credential(form.get("id", ""), actor):
                    state.auth.forget()
                message = "Revoked: that screen is signed out within seconds."
        except ApiError as exc:
            message = exc.message
    displays = await kiosks.list()
    wards = await state.store.list_wards()
    return render(
        request,
        "admin_displays.html",
        {
            "who": who,
            "displays": displays,
            "wards": wards,
            "message": message,
            "code": code,
            "csrf": csrf_token(request),
        },
    )


async def users_page(request: Request) -> Response:
    """Staff accounts: add, disable, set a new password."""
    who = await _gate(request, "admin")
    if not isinstance(who, Principal):
        return who
    state = wb(request)
    message = ""
    if request.method == "POST":
        form = await _form_checked(request)
        if form is None:
            return problem(request, 403, "Refused", CSRF_REFUSED, who)
        action, username = form.get("action"), form.get("username", "").strip().lower()
        actor = _actor(who)
        try:
            if action == "add":
                wards = tuple(w.strip() for w in form.get("wards", "").split(",") if w.strip()) or None
                await state.accounts.add_user(
                    username,
                    form.get("name", "").strip() or username,
                    form.get("password", ""),
                    form.get("role", ""),
                    wards,
                    actor=actor,
                )
                message = f"Created {username}."
            elif action == "disable":
                await state.accounts.disable_user(username, actor=actor)
                state.auth.forget()
                message = f"Disabled {username}; their sessions are ended."
            elif action == "reset":
                await state.accounts.reset_password(username, form.get("password", ""), actor=actor)
                state.auth.forget()
                message = f"New password set for {username}; their sessions are ended."
        except (AccountError, ValueError) as exc:
            message = str(exc)
    users = await state.accounts.list_users()
    roles = [r for r in ROLES if r != "display"]
    return render(
        request,
        "admin_users.html",
        {"who": who, "users": users, "roles": roles, "message": message, "csrf": csrf_token(request)},
    )
