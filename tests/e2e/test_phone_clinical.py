"""The phone's clinical cards in real headless Chromium against a real server: a nurse records observations and
sees the server's NEWS2 score, band and next-due time before saving (nothing saved until Save), the wall board
follows the save live; then moves the patient to another ward's empty bed, and both wards follow. axe-core
checks the cards in every state; their screenshots go to docs/screenshots."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.browser import PHONE, Pages, run_axe, serious, shoot, sign_in
from tests.e2e.demo_site import BOTH_BACKENDS, WAIT_MS, WARD, Make, demo_server, first_bed, open_board, snapshot, tile
from tests.e2e.demo_site import tokens as make_tokens

pytestmark = [BOTH_BACKENDS]
OBS = {"Respiration rate (per minute)": "23", "SpO2 (%)": "94", "Systolic blood pressure (mmHg)": "105",
       "Pulse (per minute)": "118", "Temperature (°C)": "38.4"}  # fmt: skip


def card(phone: Page, title: str) -> Locator:
    return phone.locator("section", has=phone.get_by_role("heading", name=title, exact=True))


def test_a_nurse_records_observations_and_moves_the_patient(make_server: Make, pages: Pages, artifacts: Path) -> None:
    s = demo_server(make_server)
    admin, display = make_tokens(s, ("admin",), ("display", WARD))
    with s.client(admin) as c:
        other = next(w["id"] for w in c.get("/api/wards").json() if w["id"] != WARD)
    nurse = s.token("nurse", WARD, other)
    snap = snapshot(s, nurse)
    bed = first_bed(snap, "occupied")
    board = open_board(pages, s, display)
    phone = pages.new(bypass_csp=True, **PHONE)
    sign_in(phone, s.url, nurse, "/m")
    phone.goto(f"{s.url}/m#/ward/{WARD}/bed/{bed['id']}")
    obs = card(phone, "Record observations")
    preview = obs.locator('[data-slot="news-preview"]')
    expect(preview).to_contain_text("Enter all seven", timeout=WAIT_MS)
    for label, value in OBS.items():
        obs.get_by_label(label).fill(value)
    obs.get_by_label("Oxygen").check()
    obs.get_by_label("Consciousness (ACVPU)").select_option("A")
    # 23/min 2, 94 % 1, oxygen 2, 105 mmHg 1, 118/min 2, alert 0, 38.4 °C 1: 9, high, continuous
    expect(preview).to_contain_text("NEWS2 9", timeout=WAIT_MS)
    expect(preview).to_contain_text("High risk")
    expect(preview).to_contain_text("If saved now: next observations due")
    expect(preview).to_contain_text("continuous monitoring")
    expect(preview).to_contain_text("Emergency response")
    assert obs.get_by_label("Scale 2 (hypercapnic)").is_disabled()
    after_preview = snapshot(s, nurse)
    assert after_preview["offset"] == snap["offset"], "a preview must save nothing"
    assert not serious(run_axe(phone)), serious(run_axe(phone))
    obs.scroll_into_view_if_needed()
    shoot(obs, artifacts, "phone-observations-card-390x844.png")

    obs.get_by_role("button", name="Save observations").click()
    expect(obs.get_by_role("status").first).to_contain_text("Saved", timeout=WAIT_MS)
    expect(preview).to_contain_text("Saved: next observations due")
    saved = next(b for b in snapshot(s, nurse)["beds"] if b["id"] == bed["id"])
    assert saved["patient"]["news2"]["score"] == 9 and saved["patient"]["news2"]["risk"] == "high"
    expect(tile(board, bed["id"]).locator('[data-slot="news-score"]')).to_have_text("9", timeout=WAIT_MS)

    move = card(phone, "Move to another bed")
    move.get_by_label("Ward").select_option(other)
    free = first_bed(snapshot(s, nurse, other), "empty")["id"]
    expect(move.get_by_label("Empty bed")).to_contain_text(free, timeout=WAIT_MS)
    move.get_by_label("Empty bed").select_option(free)
    move.get_by_role("button", name="Move patient…").click()
    expect(move).to_contain_text(f"bed {free}? Bed {bed['id']} goes to cleaning")
    assert not serious(run_axe(phone)), serious(run_axe(phone))
    move.scroll_into_view_if_needed()
    shoot(move, artifacts, "phone-move-card-390x844.png")
    move.get_by_role("button", name="Yes, move").click()

    expect(phone).to_have_url(f"{s.url}/m#/ward/{other}/bed/{free}", timeout=WAIT_MS)
    expect(phone.locator("h1")).to_contain_text(bed["patient"]["name"], timeout=WAIT_MS)
    moved = next(b for b in snapshot(s, nurse, other)["beds"] if b["id"] == free)
    assert moved["patient"]["name"] == bed["patient"]["name"] and moved["patient"]["news2"]["score"] == 9
    left = next(b for b in snapshot(s, nurse)["beds"] if b["id"] == bed["id"])
    assert left["patient"] is None and left["status"] == "cleaning"
    expect(tile(board, bed["id"])).to_have_attribute("data-status", "cleaning", timeout=WAIT_MS)
    assert not pages.errors, pages.errors


def test_a_move_within_the_ward_updates_both_beds_on_the_board_and_the_phone(make_server: Make, pages: Pages) -> None:
    """One event names both beds (`also`): the board and the phone's bed list apply both, never one alone."""
    s = demo_server(make_server)
    nurse, display = make_tokens(s, ("nurse", WARD), ("display", WARD))
    snap = snapshot(s, nurse)
    source, target = first_bed(snap, "occupied"), first_bed(snap, "empty")
    board = open_board(pages, s, display)
    phone = pages.new(**PHONE)
    sign_in(phone, s.url, nurse, "/m")
    phone.goto(f"{s.url}/m#/ward/{WARD}")
    expect(phone.locator(".conn-pill")).to_have_text("Live", timeout=WAIT_MS)
    with s.client(nurse) as c:
        r = c.post(f"/api/wards/{WARD}/beds/{source['id']}/transfer", json={"to_bed": target["id"]})
    assert r.status_code == 200, r.text
    initials = source["patient"]["initials"]
    expect(tile(board, target["id"])).to_have_attribute("data-status", "occupied", timeout=WAIT_MS)
    expect(tile(board, target["id"]).locator('[data-slot="initials"]')).to_have_text(initials)
    expect(tile(board, source["id"])).to_have_attribute("data-status", "cleaning")
    row = phone.locator(f'a[data-bed="{target["id"]}"]')
    expect(row).to_contain_text(source["patient"]["name"], timeout=WAIT_MS)
    expect(phone.locator(f'a[data-bed="{source["id"]}"]')).to_have_attribute("data-status", "cleaning")
    assert board.evaluate("window.__sameDocument") is True, "the board reloaded instead of applying the event"
    assert not pages.errors, pages.errors
