"""HTML pages (CONTRACT.md, "Pages"): the wall board, the phone view, the ops page and sign-in.

Pages render `displays/templates` with context that has already passed the one privacy filter
(`WardView.snapshot(audience)`), so a display page never holds what its credential may not see. All
behaviour is in `displays/static/js`: no inline script (the CSP below forbids it); data reaches the
scripts through `data-*` attributes and `<script type="application/json">` blocks.

This module holds what every page shares: the templates, `render`, the signed-in principal, the problem page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

import whiteboard
from whiteboard.access import auth, nav
from whiteboard.access.auth import Principal
from whiteboard.state import wb
from whiteboard.store import Actor
from whiteboard.web.http import credential_token
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
    "on_leave": ("Leave", "On leave of absence (HL7 A21)"),
}


# Codes a reader might not guess; the board's key explains only these (space on a wall is precious).
LEGEND_FLAGS: Final = (
    "pressure_damage",
    "nil_by_mouth",
    "nutrition",
    "learning_disability",
    "infection",
    "isolation",
    "dnacpr",
    "similar_name",
)


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
    return wb(request).templates.TemplateResponse(request, name, context, status_code=status, headers=PAGE_HEADERS)


async def page_principal(request: Request) -> Principal | None:
    token, _ = credential_token(request)
    return await wb(request).auth.authenticate(token) if token else None


def to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)


def problem(
    request: Request,
    status: int,
    title: str,
    message: str,
    who: Principal | None = None,
    link: tuple[str, str] | None = None,
) -> Response:
    context = {"title": title, "message": message, "status": status, "who": who, "link": link}
    return render(request, "problem.html", context, status)


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


def page_actor(who: Principal, source: str) -> Actor:
    return Actor(who.name, who.role, who.credential_id, source=source)


def set_session_cookie(request: Request, response: Response, who: Principal, token: str) -> None:
    max_age = DISPLAY_COOKIE_MAX_AGE_SECS if who.role == "display" else wb(request).settings.session_max_age_secs
    response.set_cookie(
        auth.COOKIE_NAME,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
