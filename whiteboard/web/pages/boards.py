"""The pages that show wards: the home page, the wall board, the phone view and the ops page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from whiteboard.access import nav
from whiteboard.domain.beds import DISCHARGE_STATUSES, FLAGS, STATUSES, TASK_KINDS
from whiteboard.domain.clock import iso, utc_now
from whiteboard.domain.wire.values import NOTES_MAX_CHARS, TASKS_MAX
from whiteboard.errors import ApiError
from whiteboard.state import wb
from whiteboard.store import StoreUnavailable
from whiteboard.web.http import audit_read, credential_token
from whiteboard.web.pages.render import (
    FIELD_LABELS,
    FLAG_LABELS,
    LEGEND_FLAGS,
    home_for,
    page_principal,
    problem,
    render,
    set_session_cookie,
    to_login,
)


async def root(request: Request) -> Response:
    """Home: every page and board this credential may open (a kiosk goes straight to its board)."""
    who = await page_principal(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    if who.role == "display":
        return RedirectResponse(home_for(who), status_code=303)
    wards = await wb(request).store.list_wards()
    context = {"who": who, "links": nav.pages_for(who), "boards": nav.boards_for(who, wards)}
    return render(request, "home.html", context)


async def board(request: Request) -> Response:
    """The wall display: the ward as the credential may see it, then live over the WebSocket."""
    who = await page_principal(request)
    if who is None:
        return to_login(request)
    ward_id = request.path_params["ward"]
    if not who.can_read_ward(ward_id):
        return problem(
            request,
            403,
            "Not allowed",
            f"This credential does not show ward {ward_id}.",
            who,
            (home_for(who), "Go to your start page"),
        )
    state = wb(request)
    try:
        ch = await state.hub.channel(ward_id)
    except ApiError as exc:
        if exc.status == 404:
            return problem(request, 404, "No such ward", f"There is no ward called {ward_id}.", who)
        raise
    view = ch.view
    audience = view.audience_for(who.role)
    # Staff opening a board receive the full record in the page: that is a read like any other.
    await audit_read(request, who, view.id, "read.board_page", {"offset": view.offset})
    context = {
        "ward": {"id": view.id, "name": view.name},
        "snapshot": view.snapshot(audience),
        "who": who,
        "stale_secs": state.settings.board_stale_secs,
        "server_now": iso(utc_now()),
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
    who = await page_principal(request)
    if who is None:
        return to_login(request)
    if who.role == "display":
        ward = who.wards[0] if who.wards else ""
        return problem(
            request,
            403,
            "This is a wall-display credential",
            "A display credential shows one ward's public board and cannot open the staff view.",
            who,
            (f"/board/{ward}", "Open the board"),
        )
    if not who.at_least("viewer"):
        return problem(
            request,
            403,
            "No ward access",
            "This credential sees no patient data (it is for the ops team).",
            who,
            (home_for(who), "Open the ops page"),
        )
    wards = [
        {"id": w.id, "name": w.name, "beds": w.beds} for w in await wb(request).store.list_wards() if who.covers(w.id)
    ]
    context = {
        "who": who,
        "wards": wards,
        "config": {
            "role": who.role,
            "name": who.name,
            "canWrite": who.at_least("nurse"),
            "isAdmin": who.at_least("admin"),
            "staleSecs": wb(request).settings.board_stale_secs,
            "serverNow": iso(utc_now()),
            "statuses": list(STATUSES),
            "flags": [{"code": f, "short": FLAG_LABELS[f][0], "label": FLAG_LABELS[f][1]} for f in FLAGS],
            "taskKinds": list(TASK_KINDS),
            "dischargeStatuses": list(DISCHARGE_STATUSES),
            "notesMax": NOTES_MAX_CHARS,
            "tasksMax": TASKS_MAX,
            "fieldLabels": FIELD_LABELS,
        },
    }
    return render(request, "mobile.html", context)


async def ops_page(request: Request) -> Response:
    who = await page_principal(request)
    if who is None:
        return to_login(request)
    if not who.sees_metrics:
        return problem(
            request,
            403,
            "Not allowed",
            "The ops page is for the ops and admin roles.",
            who,
            (home_for(who), "Go to your start page"),
        )
    try:
        latest = await wb(request).store.load_tests(1)
        load_test, unavailable = (latest[0] if latest else None), False
    except StoreUnavailable:  # the live figures still work (health says why); the proven capacity waits
        load_test, unavailable = None, True
    if load_test is not None:
        load_test["multiple_text"] = f"{load_test['monthly_multiple']:,.1f}".removesuffix(".0")
    return render(request, "ops.html", {"who": who, "load_test": load_test, "load_test_unavailable": unavailable})
