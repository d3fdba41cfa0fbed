"""How the pages look and read: axe-core accessibility checks, no overflow at 1080p, 4K and 360 px, the
ops page updating live, the admin's public-field setting, and the screenshots the README embeds.

Screenshots go to `artifacts/screenshots/`; with WHITEBOARD_UPDATE_SCREENSHOTS=1 they are also copied
to `docs/screenshots/` (committed, so the README shows the real thing).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    PHONE,
    Pages,
    run_axe,
    serious,
    shoot,
    sign_in,
)
from tests.e2e.demo_site import (
    BOARD_SIZE,
    EMBEDDED,
    WAIT_MS,
    WARD,
    Make,
    demo_server,
    first_bed,
    patch,
    snapshot,
    tile,
    tokens,
)
from tests.e2e.server import ServerProcess

pytestmark = [pytest.mark.browser, EMBEDDED]
GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
BIG_WARD = "ward-30"
NAMES = ("Ada Morgan", "Bill Okafor", "Cara Singh", "Dev Patel", "Eve Chen", "Finn Walsh", "Gita Rao", "Hugh Ellis")
NURSES = ("RN Kofi Mensah", "RN Grace Walker", "RN Priya Sharma", "RN Tomasz Nowak")
FLAG_SETS: tuple[list[str], ...] = (
    [],
    ["falls"],
    ["nil_by_mouth", "allergy"],
    ["infection", "isolation"],
    ["dementia", "falls", "frailty"],
    [],
    ["allergy"],
    ["pressure_damage", "similar_name"],
)
NOT_OCCUPIED = {4: "empty", 11: "cleaning", 17: "closed", 23: "blocked", 28: "empty"}


def fill_big_ward(s: ServerProcess, admin: str) -> None:
    """A full 30-bed ward: the worst case for fitting a board on one 1080p screen."""
    s.cli("ward", "add", BIG_WARD, "--beds", "30", "--name", "Ward 30 — General Medicine")
    today = dt.date.today()
    with httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {admin}"}, timeout=10) as c:
        for i in range(30):
            bed = f"B{i + 1:02d}"
            if i in NOT_OCCUPIED:
                body: dict[str, Any] = {"status": NOT_OCCUPIED[i]}
            else:
                score = (0, 1, 2, 3, 5, 7, 4, 0)[i % 8]
                patient: dict[str, Any] = {
                    "name": NAMES[i % len(NAMES)],
                    "age": 40 + (i * 7) % 55,
                    "sex": "FM"[i % 2],
                    "named_nurse": NURSES[i % 4],
                    "red_green": ("red", "green")[i % 3 == 0],
                    "news2": {"score": score, "red_score": score in (3, 4) and i % 2 == 1},
                    "edd": (today + dt.timedelta(days=i % 6)).isoformat() if i % 4 else None,
                    "medically_optimised": i % 6 == 0,
                    "flags": FLAG_SETS[i % len(FLAG_SETS)],
                    "discharge_status": ("planned", "awaiting_tto", "ready", "not_planned")[i % 4],
                    "tasks": [{"id": f"t{n}", "kind": "bloods", "text": "FBC", "done": False} for n in range(i % 3)],
                }
                body = {"status": "occupied", "patient": patient}
            r = c.patch(f"/api/wards/{BIG_WARD}/beds/{bed}", json=body)
            assert r.status_code == 200, r.text


OVERFLOW = """() => {
  const doc = document.documentElement;
  const out = [];
  if (doc.scrollWidth > innerWidth || doc.scrollHeight > innerHeight) {
    out.push(`page ${doc.scrollWidth}x${doc.scrollHeight}`);
  }
  for (const t of document.querySelectorAll(".tile")) {
    if (t.scrollHeight > t.clientHeight + 1 || t.scrollWidth > t.clientWidth + 1) out.push(`tile ${t.dataset.bed}`);
    const main = t.querySelector(".t-main");
    const shown = main && getComputedStyle(main).display !== "none";
    if (shown && main.scrollHeight > main.clientHeight + 1) out.push(`content ${t.dataset.bed}`);
  }
  return out;
}"""


SMALL_TARGETS = """() => [...document.querySelectorAll('main button, main select, main input, main a')]
  .map(e => e.closest('label') || e)  // a checkbox's target is its whole label
  .filter(e => e.offsetParent && e.getBoundingClientRect().height < 44)
  .map(e => e.outerHTML.slice(0, 80))"""


def board_page(pages: Pages, s: ServerProcess, token: str, ward: str, size: dict[str, int]) -> Page:
    page = pages.new(viewport=size)
    sign_in(page, s.url, token)
    page.goto(f"{s.url}/board/{ward}")
    expect(page.locator("body")).to_have_attribute("data-connection", "live", timeout=10_000)
    page.evaluate("window.__sameDocument = true")
    return page


def test_boards_fit_the_screen_at_1080p_and_4k(make_server: Make, pages: Pages, artifacts: Path) -> None:
    """No scrollbars and no clipped tile at 1080p and 4K, for the demo ward and a full 30-bed ward; type
    on a 4K board is twice as large in pixels as on a 1080p one (it scales, it does not shrink)."""
    s = demo_server(make_server)
    admin, display = tokens(s, ("admin",), ("display", WARD))
    fill_big_ward(s, admin)
    sizes = {}
    for ward, label in ((WARD, "board"), (BIG_WARD, "board-30-beds")):
        for size, suffix in ((BOARD_SIZE, "1080p"), ({"width": 3840, "height": 2160}, "4k")):
            page = board_page(pages, s, display if ward == WARD else admin, ward, size)
            assert page.evaluate(OVERFLOW) == [], f"{ward} at {suffix} overflows"
            if ward == BIG_WARD:
                assert page.locator(".tile").count() == 30
            sizes[(ward, suffix)] = page.evaluate(
                "parseFloat(getComputedStyle(document.querySelector('.tile[data-patient=yes] .t-initials')).fontSize)"
            )
            if ward == WARD or suffix == "1080p":
                shoot(page, artifacts, f"{label}-{suffix}.png")
    print(f"\ninitials font size (px): {sizes}")
    assert sizes[(BIG_WARD, "1080p")] >= 28, "initials stay large enough to read across a room on a full ward"
    for ward in (WARD, BIG_WARD):
        assert sizes[(ward, "4k")] == pytest.approx(2 * sizes[(ward, "1080p")], rel=0.1)


TITLE_CUT = """() => {
  const t = document.querySelector(".ward-name");
  return t.scrollWidth > t.clientWidth ? `${t.scrollWidth} > ${t.clientWidth}: ${t.textContent}` : null;
}"""


@pytest.mark.parametrize(("width", "height", "in_readme"), [(1280, 720, True), (1366, 768, True), (1280, 1024, False)])
def test_the_board_title_is_whole_on_smaller_screens(
    make_server: Make, pages: Pages, artifacts: Path, width: int, height: int, in_readme: bool
) -> None:
    """A 1280 or 1366 px board (a small TV, or a 5:4 office monitor) shows the whole ward name, and fits."""
    s = demo_server(make_server)
    (display,) = tokens(s, ("display", WARD))
    page = board_page(pages, s, display, WARD, {"width": width, "height": height})
    assert page.evaluate(TITLE_CUT) is None, f"the ward name is cut off at {width}x{height}"
    assert page.evaluate(OVERFLOW) == [], f"the board overflows at {width}x{height}"
    name = f"board-{width}x{height}.png"
    if in_readme:
        shoot(page, artifacts, name)
    else:
        page.screenshot(path=str(artifacts / name))


def test_the_phone_fits_360px_and_looks_right_at_390(make_server: Make, pages: Pages, artifacts: Path) -> None:
    s = demo_server(make_server)
    (nurse,) = tokens(s, ("nurse", WARD))
    bed = first_bed(snapshot(s, nurse), "occupied")["id"]
    for width in (360, 390):
        phone = pages.new(**{**PHONE, "viewport": {"width": width, "height": 844}})
        sign_in(phone, s.url, nurse, "/m")
        for route in (f"#/ward/{WARD}", f"#/ward/{WARD}/bed/{bed}"):
            phone.goto(f"{s.url}/m{route}")
            expect(phone.locator(".conn-pill")).to_have_text("Live", timeout=WAIT_MS)
            wide = phone.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{route} is {wide}px wide at {width}px"
            small = phone.evaluate(SMALL_TARGETS)
            assert small == [], f"touch targets under 44px: {small}"
            if width == 390:
                shoot(phone, artifacts, "phone-beds-390x844.png" if "bed/" not in route else "phone-bed-390x844.png")


def test_no_serious_accessibility_violations(make_server: Make, pages: Pages) -> None:
    """axe-core (WCAG 2.2 A/AA rules) on sign-in, every phone view, the board, the ops page and a refusal."""
    s = demo_server(make_server)
    nurse, display, admin = tokens(s, ("nurse", WARD), ("display", WARD), ("admin",))
    snap = snapshot(s, nurse)
    found: dict[str, list[str]] = {}
    minor: dict[str, list[str]] = {}

    def check(name: str, page: Page) -> None:
        violations = run_axe(page)
        found[name] = serious(violations)
        if rest := [f"{v['id']} ({v['impact']})" for v in violations if v.get("impact") not in {"serious", "critical"}]:
            minor[name] = rest

    phone = pages.new(bypass_csp=True, **PHONE)
    phone.goto(f"{s.url}/login")
    check("login", phone)
    phone.get_by_role("button", name="Sign in").click()
    check("login with an error", phone)
    sign_in(phone, s.url, admin, "/m")
    occupied, free = first_bed(snap, "occupied")["id"], first_bed(snap, "empty")["id"]
    views = {
        "wards": "#/",
        "beds": f"#/ward/{WARD}",
        "occupied bed": f"#/ward/{WARD}/bed/{occupied}",
        "free bed": f"#/ward/{WARD}/bed/{free}",
    }
    for name, route in views.items():
        phone.goto(f"{s.url}/m{route}")
        phone.wait_for_load_state("networkidle")
        expect(phone.locator("h1")).to_be_visible()
        check(name, phone)
    phone.goto(f"{s.url}/ops")
    expect(phone.locator(".ops-state")).to_contain_text("Live", timeout=WAIT_MS)
    check("ops", phone)
    expect(phone.locator('[data-load="none"]')).to_contain_text("No load test recorded yet")
    with s.client(admin) as c:
        result = {"finished_at": "2026-12-01T09:30:00Z", "profile": "trust-day", "monthly_multiple": 100.4,
                  "thresholds_passed": False, "requests": 5000, "failures": 7, "p99_ms": 120.5}  # fmt: skip
        assert c.post("/api/ops/load-tests", json=result).status_code == 201
    phone.goto(f"{s.url}/ops")
    expect(phone.locator('[data-load="result"]')).to_have_text("FAIL")
    when = phone.locator("time[data-local-time]")  # shown in the browser's local time, not the ISO text
    expect(when).not_to_have_text("2026-12-01T09:30:00.000Z")
    expect(when).to_contain_text("2026")
    check("ops with a load test", phone)
    for admin_page in ("/", "/audit", "/admin/displays", "/admin/users"):
        phone.goto(f"{s.url}{admin_page}")
        expect(phone.locator("h1")).to_be_visible()
        check(admin_page, phone)
    board = pages.new(bypass_csp=True, viewport=BOARD_SIZE)
    sign_in(board, s.url, display)
    expect(board.locator("body")).to_have_attribute("data-connection", "live", timeout=10_000)
    check("board", board)
    board.goto(f"{s.url}/m")
    check("refusal page", board)
    print(f"\naxe (moderate and minor, not failing): {minor or 'none'}")
    problems = {k: v for k, v in found.items() if v}
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


ADMIN_PAGES = ("/", "/audit", "/admin/users", "/admin/displays")
# Every field and button a person uses on the admin pages, with its height and the page's overflow.
MEASURE_ADMIN = """() => {
  const doc = document.documentElement;
  const controls = [...document.querySelectorAll('main input:not([type=hidden]), main select, main button, main a.btn')]
    .filter((e) => e.offsetParent !== null)
    .map((e) => ({name: e.name || e.id || e.textContent.trim(), h: e.getBoundingClientRect().height,
                  w: e.getBoundingClientRect().width}));
  return {overflow: doc.scrollWidth - doc.clientWidth, controls};
}"""


def test_the_home_and_admin_pages_meet_the_phone_views_standard(
    make_server: Make, pages: Pages, artifacts: Path
) -> None:
    """Fields and buttons at least 44 px tall and usably wide, nothing wider than the screen, axe-clean: on a
    phone and on a desktop, for the home page and each admin page."""
    s = demo_server(make_server)
    (admin,) = tokens(s, ("admin",))
    code = s.cli("display", "pair", "--ward", WARD, "--label", "Corridor").stdout.strip()
    with s.client() as c:  # one enrolled screen, so the displays table has a row of forms
        assert c.post("/login", data={"token": code}, headers={"Origin": s.url}).status_code == 303
    problems: dict[str, Any] = {}
    for label, options in (("390", PHONE), ("1366", {"viewport": {"width": 1366, "height": 768}})):
        page = pages.new(bypass_csp=True, **options)
        sign_in(page, s.url, admin)
        expect(page).to_have_url(f"{s.url}/")  # an admin lands on the home page
        for path in ADMIN_PAGES:
            page.goto(f"{s.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            measured = page.evaluate(MEASURE_ADMIN)
            small = [c for c in measured["controls"] if c["h"] < 44 or c["w"] < 44]
            axe = serious(run_axe(page))
            if measured["overflow"] > 0 or small or axe:
                problems[f"{path} at {label}"] = {"overflow": measured["overflow"], "small": small, "axe": axe}
            assert measured["controls"] or path == "/", f"{path}: no controls measured"
            shoot(page, artifacts, f"admin{path.replace('/', '-').rstrip('-') or '-home'}-{label}.png", full_page=True)
    assert not problems, json.dumps(problems, indent=1)


def test_the_ops_page_updates_live(make_server: Make, pages: Pages, artifacts: Path) -> None:
    """Connections per ward and role, event rates and health update without a reload; /metrics agrees."""
    s = demo_server(make_server)
    ops, display, nurse = tokens(s, ("ops",), ("display", WARD), ("nurse", WARD))
    board_page(pages, s, display, WARD, BOARD_SIZE)
    page = pages.new(viewport={"width": 1440, "height": 900})
    sign_in(page, s.url, ops)
    expect(page.locator(".ops-state")).to_contain_text("Live", timeout=WAIT_MS)
    page.evaluate("window.__sameDocument = true")
    wards_table = page.locator("tbody[data-slot=wards]")
    expect(wards_table).to_contain_text(re.compile(r"Ward 7A — Acute Medical Unit ward-7a\s*1\s*display 1"))
    # Every ward, by name, also those nobody has opened: a ward whose boards are all dark is what ops must see.
    expect(wards_table.locator("tr")).to_have_count(5)
    expect(wards_table).to_contain_text(re.compile(r"Ward 21 — Surgical ward-21\s*0\s*none"))
    expect(page.locator('[data-health="health.database"]')).to_contain_text("OK")
    expect(page.locator('[data-health="health.eventlog"]')).to_contain_text("OK")
    free = first_bed(snapshot(s, nurse), "empty")["id"]
    for status in ("cleaning", "empty", "cleaning", "empty"):
        patch(s, nurse, free, {"status": status})
    expect(page.locator('[data-fig="totals.events"]')).to_have_text("4", timeout=WAIT_MS)
    with s.client(nurse) as c:
        assert c.patch(f"/api/wards/{WARD}/beds/{free}", json={"status": "flying"}).status_code == 422
    expect(page.locator("[data-slot=refused]")).to_contain_text(re.compile(r"unknown_value\s*1"), timeout=WAIT_MS)
    expect(page.locator("tbody[data-slot=routes]")).to_contain_text("/api/wards/{ward}/beds/{bed}", timeout=WAIT_MS)
    expect(page.locator('[data-fig="http.requests_per_sec"]')).not_to_have_text(re.compile(r"^(–|0|0\.00)$"))
    expect(page.locator('[data-fig="rates.events_per_sec"]')).not_to_have_text(re.compile(r"^(–|0|0\.00)$"))
    expect(page.locator('[data-fig="rates.fanout_p95_ms"]')).not_to_have_text("–")
    assert page.evaluate("window.__sameDocument") is True
    with s.client(ops) as c:
        metrics = c.get("/metrics").text
    assert re.search(r'whiteboard_ws_connections\{role="display",ward="ward-7a"\} 1\.0', metrics)
    assert re.search(r"whiteboard_events_total\{ward=\"ward-7a\"\} 4\.0", metrics)
    dashboard = json.loads(GRAFANA.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    families = set(re.findall(r"^# TYPE (\w+) ", metrics, re.M))
    used = {re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs for m in re.findall(r"whiteboard_\w+", e)}
    assert used and used <= families, f"the Grafana dashboard uses metrics /metrics lacks: {used - families}"
    page.wait_for_timeout(2500)  # one more poll, so the sparklines have two points
    shoot(page, artifacts, "ops.png")


def test_an_admin_chooses_the_public_fields_and_boards_follow(make_server: Make, pages: Pages) -> None:
    """The "Public board fields" card on the phone changes what open boards show, live; identifiers stay off."""
    s = demo_server(make_server)
    admin, display = tokens(s, ("admin",), ("display", WARD))
    full = snapshot(s, admin)
    occupied = first_bed(full, "occupied")
    board = board_page(pages, s, display, WARD, BOARD_SIZE)
    demog = tile(board, occupied["id"]).locator('[data-slot="demog"]')
    expect(demog).to_have_text("")
    phone = pages.new(**PHONE)
    sign_in(phone, s.url, admin, "/m")
    phone.goto(f"{s.url}/m#/ward/{WARD}")
    card = phone.locator("section", has=phone.get_by_role("heading", name="Public board fields"))
    card.get_by_label("Age").check()
    card.get_by_label("Sex").check()
    card.get_by_role("button", name="Save board fields").click()
    expect(card.get_by_role("status")).to_contain_text("Saved")
    p = occupied["patient"]
    expect(demog).to_have_text(f"{p['age']} {p['sex']}", timeout=WAIT_MS)
    html = board.content()
    assert p["name"] not in html and p["nhs_number"] not in html
    card.get_by_role("button", name="Use the safe default").click()
    expect(card.get_by_role("status")).to_contain_text("Saved")
    expect(demog).to_have_text("", timeout=WAIT_MS)
    assert board.evaluate("window.__sameDocument") is True
