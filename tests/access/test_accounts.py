"""Staff accounts and browser sessions, through the real login page and API (embedded and PostgreSQL + Redis)."""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner
from whiteboard.access.accounts import AccountError
from whiteboard.app import create_app
from whiteboard.cli import main
from whiteboard.settings import Settings

WARD = "ward-acc"
PASSWORD = "correct horse battery"
SAME_ORIGIN = {"Origin": "http://testserver"}  # TestClient's own origin, as a browser's form post sends it


class Site:
    def __init__(self, client: TestClient, run: Any, app: Any) -> None:
        self.c = client
        self.run = run
        self.state = app.state.wb

    def login(self, **form: str) -> Any:
        """The sign-in form as a browser sends it from our own page (with its `Origin`)."""
        self.c.cookies.clear()
        return self.c.post("/login", data=form, headers=SAME_ORIGIN, follow_redirects=False)

    def session_cookie(self, **form: str) -> str:
        r = self.login(**form)
        assert r.status_code == 303, r.text
        cookie = r.cookies["wb_session"]
        assert cookie.startswith("wbs_")
        self.c.cookies.clear()
        return str(cookie)

    def as_(self, cookie: str) -> TestClient:
        self.c.cookies.clear()
        self.c.cookies.set("wb_session", cookie)
        return self.c

    def get(self, path: str, cookie: str) -> Any:
        return self.as_(cookie).get(path, follow_redirects=False)

    def post(self, path: str, cookie: str, **kw: Any) -> Any:
        return self.as_(cookie).post(path, follow_redirects=False, headers=SAME_ORIGIN, **kw)


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    app = create_app(settings.replace(credential_cache_secs=0.0, session_idle_secs=3600, login_failures_per_min=3))
    with TestClient(app) as client:
        run = portal_runner(client)
        run(app.state.wb.store.add_wards([(WARD, "Ward Acc", [("B1", "Bay 1")])], actor=SETUP))
        run(app.state.wb.accounts.add_user("ada", "Ada Lovelace", PASSWORD, "nurse", (WARD,), actor=SETUP))
        yield Site(client, run, app)


def test_password_sign_in_gives_a_session_for_pages_and_api(site: Site) -> None:
    cookie = site.session_cookie(username="ada", password=PASSWORD)
    assert site.get("/m", cookie).status_code == 200
    assert site.get(f"/api/wards/{WARD}", cookie).status_code == 200
    r = site.as_(cookie).patch(
        f"/api/wards/{WARD}/beds/B1", json={"notes": "by Ada"}, headers={"X-Whiteboard-Client": "phone"}
    )
    assert r.status_code == 200 and r.json()["event"]["by"] == "Ada Lovelace"


def test_wrong_passwords_are_refused_logged_and_rate_limited(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="whiteboard.security")
    for _ in range(3):
        r = site.login(username="ada", password="wrong password!")
        assert r.status_code == 401 and "not accepted" in r.text and "wb_session" not in r.cookies
    assert site.login(username="nobody", password=PASSWORD).status_code in (401, 429)
    blocked = site.login(username="ada", password=PASSWORD)  # right password, but too many failures
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    failures = [r for r in caplog.records if r.name == "whiteboard.security" and "sign-in" in r.getMessage()]
    assert len(failures) >= 4
    assert PASSWORD not in caplog.text and "wrong password!" not in caplog.text


def test_sign_out_and_sign_out_everywhere(site: Site) -> None:
    here, there = (site.session_cookie(username="ada", password=PASSWORD) for _ in range(2))
    site.post("/logout", here)
    assert site.get(f"/api/wards/{WARD}", here).status_code == 401
    assert site.get(f"/api/wards/{WARD}", there).status_code == 200
    third = site.session_cookie(username="ada", password=PASSWORD)
    site.post("/logout", third, data={"everywhere": "1"})
    assert site.get(f"/api/wards/{WARD}", there).status_code == 401
    assert site.get(f"/api/wards/{WARD}", third).status_code == 401


def test_disabling_or_resetting_ends_sessions(site: Site) -> None:
    cookie = site.session_cookie(username="ada", password=PASSWORD)
    site.run(site.state.accounts.reset_password("ada", "a brand new password", actor=SETUP))
    assert site.get(f"/api/wards/{WARD}", cookie).status_code == 401
    assert site.login(username="ada", password=PASSWORD).status_code == 401
    cookie = site.session_cookie(username="ada", password="a brand new password")
    site.run(site.state.accounts.disable_user("ada", actor=SETUP))
    assert site.get(f"/api/wards/{WARD}", cookie).status_code == 401
    assert site.login(username="ada", password="a brand new password").status_code == 401


def test_account_rules(site: Site) -> None:
    accounts = site.state.accounts
    for bad in (
        ("Ada Upper", "x", PASSWORD, "nurse", None),
        ("bob", "Bob", "short", "nurse", None),
        ("ada", "Again", PASSWORD, "nurse", None),
        ("kiosk", "K", PASSWORD, "display", (WARD,)),
    ):
        with pytest.raises((AccountError, ValueError)):
            site.run(accounts.add_user(*bad, actor=SETUP))


class Clock:
    """The sessions' "now", moved by the test instead of waiting for real time to pass."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, secs: float) -> None:
        self.now += dt.timedelta(seconds=secs)


def test_idle_and_absolute_timeouts_end_staff_sessions_but_not_kiosks(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 't.db'}",
            credential_cache_secs=0.0,
            session_idle_secs=1800,
            session_max_age_secs=7200,
        ),
        clock=clock,
    )
    with TestClient(app) as client:
        run = portal_runner(client)
        store = app.state.wb.store
        run(store.add_wards([(WARD, "W", [("B1", "Bay")])], actor=SETUP))
        run(app.state.wb.accounts.add_user("ada", "Ada", PASSWORD, "nurse", (WARD,), actor=SETUP))
        display = run(store.create_credential("display", (WARD,), "board", actor=SETUP))[1]
        site = Site(client, run, app)
        staff = site.session_cookie(username="ada", password=PASSWORD)
        kiosk = site.session_cookie(token=display)
        clock.advance(1799)
        assert site.get(f"/api/wards/{WARD}", staff).status_code == 200  # just inside the idle limit
        clock.advance(1801)
        assert site.get(f"/api/wards/{WARD}", staff).status_code == 401  # idle too long
        assert site.get(f"/board/{WARD}", kiosk).status_code == 200  # a wall board never signs itself out
        busy = site.session_cookie(username="ada", password=PASSWORD)
        answers = []
        for _ in range(5):
            clock.advance(1500)  # never idle for the 30 minutes...
            answers.append(site.get(f"/api/wards/{WARD}", busy).status_code)
        assert answers == [200, 200, 200, 200, 401]  # ...but past the absolute 2 hours at the fifth
        clock.advance(30 * 24 * 3600)
        assert site.get(f"/board/{WARD}", kiosk).status_code == 200


def test_user_cli(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'u.db'}"]
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade", *db])  # only `db upgrade` and `serve` create a database
    runner.invoke(main, ["ward", "add", WARD, "--beds", "2", *db])
    r = runner.invoke(
        main,
        [
            "user",
            "add",
            "grace",
            "--role",
            "ward_manager",
            "--ward",
            WARD,
            "--name",
            "Grace Hopper",
            "--password-stdin",
            *db,
        ],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    listed = runner.invoke(main, ["user", "list", *db]).stdout
    assert "grace" in listed and "ward_manager" in listed and PASSWORD not in listed
    short = runner.invoke(main, ["user", "reset-password", "grace", "--password-stdin", *db], input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.stderr
    assert runner.invoke(main, ["user", "disable", "grace", *db]).exit_code == 0
    assert "disabled" in runner.invoke(main, ["user", "list", *db]).stdout
    again = runner.invoke(main, ["user", "disable", "grace", *db])
    assert again.exit_code == 2 and "user list" in again.stderr


def test_a_wall_screen_enrols_once_with_a_pairing_code(site: Site) -> None:

    from sqlalchemy import Table, update

    from whiteboard.access.kiosks import Kiosks
    from whiteboard.store.models import PairingCode

    kiosks = Kiosks(site.state.store)
    code, _ = site.run(kiosks.new_code(WARD, "Ward Acc corridor", actor=SETUP))
    assert len(code) == 9 and code[4] == "-"
    r = site.login(token=code.lower().replace("-", " "))  # forgiving of case and separators
    assert r.status_code == 303 and r.headers["location"] == f"/board/{WARD}"
    cookie = str(r.cookies["wb_session"])
    assert site.get(f"/board/{WARD}", cookie).status_code == 200
    assert site.login(token=code).status_code == 401  # single use
    [shown] = [d for d in site.run(kiosks.list()) if d.label == "Ward Acc corridor"]
    assert shown.ward == WARD and not shown.revoked
    assert site.run(kiosks.rename(shown.id, "Bay 1 corridor", actor=SETUP))
    expired, _ = site.run(kiosks.new_code(WARD, "late", actor=SETUP))
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    codes = cast(Table, PairingCode.__table__)
    site.run(site.state.store.write(lambda conn: conn.execute(update(codes).values(expires_at=long_ago))))
    assert site.login(token=expired).status_code == 401
    assert site.run(site.state.store.revoke_credential(shown.id, SETUP))
    assert site.get(f"/board/{WARD}", cookie).status_code == 303  # revoked: back to the sign-in page
    admin = site.run(site.state.store.create_credential("admin", None, "a", actor=SETUP))[1]
    audit = site.c.get("/api/audit", params={"ward": WARD}, headers={"Authorization": f"Bearer {admin}"}).json()
    assert {"display.pairing_code", "display.enrolled"} <= {a["action"] for a in audit}


def test_display_cli(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'd.db'}"]
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade", *db])  # only `db upgrade` and `serve` create a database
    runner.invoke(main, ["ward", "add", WARD, "--beds", "2", *db])
    r = runner.invoke(main, ["display", "pair", "--ward", WARD, "--label", "Nurses station", *db])
    assert r.exit_code == 0 and len(r.stdout.strip()) == 9 and "/login" in r.stderr
    missing = runner.invoke(main, ["display", "pair", "--ward", "nope", "--label", "x", *db])
    assert missing.exit_code == 2 and "ward add" in missing.stderr
    assert runner.invoke(main, ["display", "list", *db]).stdout == ""  # nothing enrolled until the code is used


def _csrf(html: str) -> str:

    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def test_admin_pages_manage_displays_and_people_with_csrf(site: Site) -> None:
    from whiteboard.access.kiosks import Kiosks

    site.run(site.state.accounts.add_user("boss", "Ward Boss", PASSWORD, "admin", None, actor=SETUP))
    admin = site.session_cookie(username="boss", password=PASSWORD)
    page = site.get("/admin/displays", admin)
    assert page.status_code == 200 and "Enrol a screen" in page.text
    csrf = _csrf(page.text)
    forged = site.post("/admin/displays", admin, data={"csrf": "0" * 40, "action": "pair", "ward": WARD, "label": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    made = site.post("/admin/displays", admin, data={"csrf": csrf, "action": "pair", "ward": WARD, "label": "Corridor"})

    code = re.search(r'aria-label="Pairing code">([A-Z0-9-]{9})<', made.text)
    assert made.status_code == 200 and code is not None
    screen = site.session_cookie(token=code.group(1))
    [d] = site.run(Kiosks(site.state.store).list())
    site.post("/admin/displays", admin, data={"csrf": csrf, "action": "revoke", "id": d.id})
    assert site.get(f"/board/{WARD}", screen).status_code == 303  # the screen is signed out
    [revoked] = [a for a in site.run(site.state.store.audit(limit=50)) if a["action"] == "credential.revoked"]
    assert (revoked["actor"], revoked["source"]) == ("Ward Boss", "admin-page")

    people = site.get("/admin/users", admin)
    assert "ada" in people.text and "Ward Boss" in people.text
    csrf = _csrf(people.text)
    added = site.post(
        "/admin/users",
        admin,
        data={
            "csrf": csrf,
            "action": "add",
            "username": "grace",
            "name": "Grace H",
            "role": "viewer",
            "wards": WARD,
            "password": "another long password",
        },
    )
    assert "Created grace" in added.text
    weak = site.post(
        "/admin/users",
        admin,
        data={
            "csrf": csrf,
            "action": "add",
            "username": "weak",
            "name": "W",
            "role": "viewer",
            "wards": "",
            "password": "short",
        },
    )
    assert "at least 12" in weak.text
    grace = site.session_cookie(username="grace", password="another long password")
    site.post("/admin/users", admin, data={"csrf": csrf, "action": "disable", "username": "grace"})
    assert site.get("/m", grace).status_code == 303


def test_the_audit_page_filters_and_links_the_csv(site: Site) -> None:
    site.run(site.state.accounts.add_user("mgr", "Ward Manager", PASSWORD, "ward_manager", (WARD,), actor=SETUP))
    nurse = site.session_cookie(username="ada", password=PASSWORD)
    site.as_(nurse).patch(
        f"/api/wards/{WARD}/beds/B1", json={"notes": "audited"}, headers={"X-Whiteboard-Client": "phone"}
    )
    manager = site.session_cookie(username="mgr", password=PASSWORD)
    page = site.get(f"/audit?ward={WARD}&person=Ada+Lovelace", manager)
    assert page.status_code == 200 and "Ada Lovelace" in page.text and "bed.updated" in page.text
    assert "format=csv" in page.text
    assert site.get("/audit", nurse).status_code == 403
    assert site.get("/audit?ward=elsewhere", manager).status_code == 403


def _records(site: Site) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = site.run(site.state.store.audit(limit=500))
    return records


def test_every_admin_page_action_and_a_pairing_is_audited_with_the_person_and_source(site: Site) -> None:
    from whiteboard.access.kiosks import Kiosks

    boss_id = site.run(site.state.accounts.add_user("boss", "Ward Boss", PASSWORD, "admin", None, actor=SETUP))
    admin = site.session_cookie(username="boss", password=PASSWORD)
    csrf = _csrf(site.get("/admin/users", admin).text)
    for form in (
        {
            "action": "add",
            "username": "grace",
            "name": "Grace H",
            "role": "viewer",
            "wards": WARD,
            "password": "another long password",
        },
        {"action": "reset", "username": "grace", "password": "a third long password"},
        {"action": "disable", "username": "grace"},
    ):
        assert site.post("/admin/users", admin, data={"csrf": csrf, **form}).status_code == 200
    made = site.post("/admin/displays", admin, data={"csrf": csrf, "action": "pair", "ward": WARD, "label": "Corridor"})
    code = re.search(r'aria-label="Pairing code">([A-Z0-9-]{9})<', made.text)
    assert code is not None
    site.session_cookie(token=code.group(1))  # the wall screen enrols itself
    [screen] = site.run(Kiosks(site.state.store).list())
    for form in (
        {"action": "rename", "id": screen.id, "label": "Bay 1 corridor"},
        {"action": "revoke", "id": screen.id},
    ):
        assert site.post("/admin/displays", admin, data={"csrf": csrf, **form}).status_code == 200

    by_action = {r["action"]: r for r in reversed(_records(site))}  # the newest of each
    for action in (
        "user.created",
        "user.password_reset",
        "user.disabled",
        "display.pairing_code",
        "display.renamed",
        "credential.revoked",
    ):
        r = by_action[action]
        assert (r["actor"], r["role"], r["credential_id"], r["source"]) == (
            "Ward Boss",
            "admin",
            f"user:{boss_id}",
            "admin-page",
        ), action
    for action in ("credential.created", "display.enrolled"):
        r = by_action[action]
        assert (r["actor"], r["role"], r["credential_id"], r["source"]) == (
            "Corridor",
            "display",
            screen.id,
            "pairing",
        ), action
    enrolled = [r for r in _records(site) if r["action"] == "session.signed_in" and r["credential_id"] == screen.id]
    assert [(r["source"], r["after"]["method"]) for r in enrolled] == [("pairing", "pairing")]
    assert by_action["display.renamed"]["before"]["label"] == "Corridor"
    assert not [r for r in _records(site) if r["source"] == "cli" or r["actor"] == "cli"]


def test_cli_changes_name_the_operating_system_user(tmp_path: Path) -> None:
    import asyncio

    from whiteboard.store import migrate, open_store

    url = f"sqlite:///{tmp_path / 'c.db'}"
    db = ["--database-url", url]
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", *db]).exit_code == 0
    assert runner.invoke(main, ["ward", "add", WARD, "--beds", "2", *db]).exit_code == 0
    assert runner.invoke(main, ["token", "create", "--role", "nurse", "--ward", WARD, *db]).exit_code == 0
    assert (
        runner.invoke(
            main, ["user", "add", "grace", "--role", "viewer", "--password-stdin", *db], input=PASSWORD + "\n"
        ).exit_code
        == 0
    )
    assert runner.invoke(main, ["display", "pair", "--ward", WARD, "--label", "x", *db]).exit_code == 0

    async def records() -> list[dict[str, Any]]:
        await migrate.upgrade(url)
        store = open_store(url)
        await store.connect()
        try:
            return await store.audit(limit=50)
        finally:
            await store.aclose()

    got = {(r["action"], r["actor"], r["source"]) for r in asyncio.run(records())}
    me = f"cli:{getpass.getuser()}"
    assert got == {
        (a, me, "cli") for a in ("ward.created", "credential.created", "user.created", "display.pairing_code")
    }


def test_sign_ins_and_sign_outs_are_in_the_audit_trail_without_secrets(site: Site) -> None:
    ada = site.run(site.state.accounts.list_users())[0]
    assert site.login(username="ada", password="wrong password!").status_code == 401
    assert site.login(token="wbt_not-a-real-token").status_code == 401
    here = site.session_cookie(username="ada", password=PASSWORD)
    site.session_cookie(username="ada", password=PASSWORD)
    site.post("/logout", here)
    third = site.session_cookie(username="ada", password=PASSWORD)
    site.post("/logout", third, data={"everywhere": "1"})

    sessions = [r for r in reversed(_records(site)) if r["action"].startswith("session.")]
    assert [(r["action"], r["actor"], r["source"]) for r in sessions] == [
        ("session.sign_in_failed", "ada", "login"),
        ("session.sign_in_failed", "(token)", "login"),
        ("session.signed_in", "Ada Lovelace", "login"),
        ("session.signed_in", "Ada Lovelace", "login"),
        ("session.signed_out", "Ada Lovelace", "logout"),
        ("session.signed_in", "Ada Lovelace", "login"),
        ("session.signed_out_everywhere", "Ada Lovelace", "logout"),
    ]
    assert all(r["ward"] is None for r in sessions)
    assert {r["credential_id"] for r in sessions if r["action"] != "session.sign_in_failed"} == {f"user:{ada.id}"}
    assert sessions[-1]["after"] == {"sessions": 2}
    assert sessions[0]["after"]["username"] == "ada" and sessions[0]["after"]["method"] == "password"
    text = str(sessions)
    assert "wrong password!" not in text and PASSWORD not in text and "wbt_not-a-real-token" not in text
    assert "wbs_" not in text
    assert site.run(site.state.store.verify_audit())[2] is None  # the ward-less records form an intact chain
    auditor = site.run(site.state.store.create_credential("admin", None, "auditor", actor=SETUP))[1]
    site.c.cookies.clear()
    fhir = site.c.get("/api/audit?format=fhir", headers={"Authorization": f"Bearer {auditor}"}).json()
    logins = [e["resource"] for e in fhir["entry"] if e["resource"]["type"]["code"] == "110114"]
    assert sorted(e["outcome"] for e in logins) == ["0"] * 5 + ["4"] * 2  # User Authentication; 4: refused


def test_admin_page_and_cli_refuse_an_unknown_ward_with_one_message(site: Site, tmp_path: Path) -> None:
    site.run(site.state.accounts.add_user("boss", "Ward Boss", PASSWORD, "admin", None, actor=SETUP))
    admin = site.session_cookie(username="boss", password=PASSWORD)
    csrf = _csrf(site.get("/admin/users", admin).text)
    page = site.post(
        "/admin/users",
        admin,
        data={
            "csrf": csrf,
            "action": "add",
            "username": "typo",
            "name": "T",
            "role": "nurse",
            "wards": f"{WARD},ward-nope",
            "password": "another long password",
        },
    )
    assert "unknown ward(s): ward-nope" in page.text and "Created" not in page.text
    assert "typo" not in {u.username for u in site.run(site.state.accounts.list_users())}

    db = ["--database-url", f"sqlite:///{tmp_path / 'v.db'}"]
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", *db]).exit_code == 0
    assert runner.invoke(main, ["ward", "add", WARD, "--beds", "1", *db]).exit_code == 0
    user = runner.invoke(
        main,
        ["user", "add", "typo", "--role", "nurse", "--ward", WARD, "--ward", "ward-nope", "--password-stdin", *db],
        input=PASSWORD + "\n",
    )
    token = runner.invoke(main, ["token", "create", "--role", "nurse", "--ward", "ward-nope", *db])
    for r in (user, token):
        assert r.exit_code == 2 and "unknown ward(s): ward-nope" in r.stderr
    assert "typo" not in runner.invoke(main, ["user", "list", *db]).stdout


def test_a_refused_sign_in_with_a_hostile_username_is_audited_bounded(site: Site) -> None:
    r = site.login(username="ad\x00a" * 100 + "\u202e", password="wrong password!")
    assert r.status_code == 401  # not a 500 or 503 from the audit insert (PostgreSQL refuses NUL in text)
    [failed] = [r for r in _records(site) if r["action"] == "session.sign_in_failed"]
    assert len(failed["actor"]) <= 64 and "\x00" not in failed["actor"] and failed["actor"].startswith("ada")
    assert failed["after"]["username"] == failed["actor"]


def test_head_requests_to_login_never_count_as_sign_ins(site: Site) -> None:
    for _ in range(5):  # a monitoring probe; the limit is 3 failures a minute here
        r = site.c.head("/login")
        assert r.status_code == 200
    assert site.login(username="ada", password=PASSWORD).status_code == 303
    assert not [r for r in _records(site) if r["action"] == "session.sign_in_failed"]


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ({"Origin": "http://testserver"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null"}, False),
        ({}, False),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Referer": "http://testserver/login"}, True),
        ({"Referer": "https://evil.example/login"}, False),
        ({"Origin": "null", "Referer": "http://testserver/login?next=/m"}, True),
    ],
)
def test_sign_in_refuses_a_missing_or_opaque_origin_unless_the_request_is_our_own(
    site: Site, headers: dict[str, str], accepted: bool
) -> None:
    site.c.cookies.clear()
    r = site.c.post("/login", data={"username": "ada", "password": PASSWORD}, headers=headers, follow_redirects=False)
    assert r.status_code == (303 if accepted else 403), r.text[:200]
    assert ("wb_session" in r.cookies) is accepted


def test_the_audit_page_shows_what_changed_in_local_time_a_page_at_a_time(site: Site) -> None:
    from zoneinfo import ZoneInfo

    from whiteboard.web.pages.audit_view import local_time

    site.run(site.state.accounts.add_user("mgr", "Ward Manager", PASSWORD, "ward_manager", (WARD,), actor=SETUP))
    nurse = site.session_cookie(username="ada", password=PASSWORD)
    phone = {"X-Whiteboard-Client": "phone"}
    admit = {
        "status": "occupied",
        "patient": {"name": "Mary Seacole", "nhs_number": "9434765919", "named_nurse": "RN Before"},
    }
    assert site.as_(nurse).patch(f"/api/wards/{WARD}/beds/B1", json=admit, headers=phone).status_code == 200
    change = {"patient": {"named_nurse": "RN After"}}
    assert site.as_(nurse).patch(f"/api/wards/{WARD}/beds/B1", json=change, headers=phone).status_code == 200
    manager = site.session_cookie(username="mgr", password=PASSWORD)
    page = site.get(f"/audit?ward={WARD}&bed=B1", manager).text
    rows = re.findall(r'<tr><td class="when".*?</tr>', page, re.S)
    assert len(rows) == 2
    newest = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[0]))
    assert "patient › named nurse: RN Before changed to → RN After" in newest.replace("→ changed to", "changed to →")
    assert "9434765919" not in newest and "Mary Seacole" not in newest  # unchanged fields are left out
    assert page.count("9434765919") == 1  # once: in the admission, where it was set
    assert '{"' not in page and "&#34;" not in page  # no JSON on the page
    [record] = [
        r for r in _records(site) if r["action"] == "bed.updated" and r["after"]["patient"]["named_nurse"] == "RN After"
    ]
    shown = local_time(record["at"], ZoneInfo("Europe/London"))
    assert shown in rows[0] and re.search(r"\(UTC[+-]\d\d:\d\d\)", shown)
    assert "When (Europe/London)" in page

    csv = site.get(f"/api/audit?ward={WARD}&bed=B1&format=csv", manager).text
    assert csv.count("9434765919") >= 3  # the export keeps the whole record, before and after


def test_the_audit_page_pages_back_through_older_records(site: Site) -> None:
    from whiteboard.web.pages.admin import AUDIT_PAGE_ROWS

    site.run(site.state.accounts.add_user("mgr", "Ward Manager", PASSWORD, "ward_manager", (WARD,), actor=SETUP))
    nurse = site.session_cookie(username="ada", password=PASSWORD)
    for i in range(AUDIT_PAGE_ROWS + 5):
        site.as_(nurse).patch(
            f"/api/wards/{WARD}/beds/B1", json={"notes": f"note {i}"}, headers={"X-Whiteboard-Client": "phone"}
        )
    total = len([r for r in _records(site) if r["ward"] == WARD])
    manager = site.session_cookie(username="mgr", password=PASSWORD)
    first = site.get(f"/audit?ward={WARD}", manager).text
    older = re.search(r'href="(/audit\?[^"]*before=\d+)" rel="next"', first)
    assert first.count('<td class="when"') == AUDIT_PAGE_ROWS and older is not None
    assert "Newest records" not in first
    second = site.get(older.group(1).replace("&amp;", "&"), manager).text
    assert second.count('<td class="when"') == total - AUDIT_PAGE_ROWS
    assert 'rel="next"' not in second and "Newest records" in second
    assert f"note {AUDIT_PAGE_ROWS + 4}" in first and "note 0" in second and "note 0" not in first
    for bad in ("9" * 40, "-1", "x", "١٢"):
        r = site.get(f"/audit?before={bad}", manager)
        assert r.status_code == 400 and "record number" in r.text


def test_local_time_names_the_offset() -> None:
    from zoneinfo import ZoneInfo

    from whiteboard.web.pages.audit_view import changes, local_time

    assert local_time("2026-07-01T08:00:00Z", ZoneInfo("Europe/London")) == "2026-07-01 09:00:00 BST (UTC+01:00)"
    assert local_time("2026-12-01T08:00:00.5Z", ZoneInfo("Europe/London")) == "2026-12-01 08:00:00 GMT (UTC+00:00)"
    assert local_time("2026-12-01T08:00:00Z", ZoneInfo("Asia/Kolkata")) == "2026-12-01 13:30:00 IST (UTC+05:30)"
    got = changes(
        {"status": "occupied", "patient": {"name": "A B", "flags": ["falls"]}}, {"status": "cleaning", "patient": None}
    )
    assert [(c.field, c.before, c.after) for c in got] == [
        ("status", "occupied", "cleaning"),
        ("patient › name", "A B", None),
        ("patient › flags", "falls", None),
    ]
    with pytest.raises(ValueError, match="TIMEZONE"):
        Settings(timezone="Mars/Olympus")


ROLE_CASES = ["viewer", "nurse", "ward_manager", "admin", "ops", "display"]


@pytest.mark.parametrize("role", ROLE_CASES)
def test_home_links_to_exactly_the_pages_the_role_may_open(site: Site, role: str) -> None:
    other = "ward-elsewhere"
    site.run(site.state.store.add_wards([(other, "Elsewhere", [("B1", "Bay")])], actor=SETUP))
    wards = None if role in ("admin", "ops") else (WARD,)
    token = site.run(site.state.store.create_credential(role, wards, f"home {role}", actor=SETUP))[1]
    session = site.session_cookie(token=token)
    signed_in = site.login(token=token)
    home = site.get("/", session)
    candidates = {"/", "/m", "/audit", "/ops", "/admin/users", "/admin/displays", f"/board/{WARD}", f"/board/{other}"}
    opens = {path for path in candidates if site.get(path, session).status_code == 200}
    if role == "display":  # a kiosk's home is its board, and it opens nothing else
        assert signed_in.headers["location"] == home.headers["location"] == f"/board/{WARD}"
        assert opens == {f"/board/{WARD}"}
        return
    assert home.status_code == 200
    main = home.text.split('id="main"', 1)[1]
    shown = set(re.findall(r'href="(/[^"]*)"', main))
    assert shown == opens - {"/"}, f"{role}: shown {sorted(shown)}, opens {sorted(opens)}"
    header = home.text.split('<header class="admin-bar">', 1)[1].split("</header>", 1)[0]
    bar = set(re.findall(r'href="(/[^"]*)"', header)) - {"/"}
    assert bar == {p for p in shown if not p.startswith("/board/")}  # the bar lists the same pages
    expected_landing = {"viewer": "/m", "nurse": "/m", "ward_manager": "/", "admin": "/", "ops": "/ops"}[role]
    assert signed_in.headers["location"] == expected_landing
    if "/m" in opens:
        assert 'href="/"' in site.get("/m", session).text  # and the phone view links back home
