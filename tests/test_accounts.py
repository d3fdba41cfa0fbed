"""Staff accounts and browser sessions, through the real login page and API (embedded and PostgreSQL + Redis)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.test_api import portal_runner
from whiteboard.accounts import AccountError
from whiteboard.app import create_app
from whiteboard.cli import main
from whiteboard.settings import Settings

WARD = "ward-acc"
PASSWORD = "correct horse battery"


class Site:
    def __init__(self, client: TestClient, run: Any, app: Any) -> None:
        self.c = client
        self.run = run
        self.state = app.state.wb

    def login(self, **form: str) -> Any:
        self.c.cookies.clear()
        return self.c.post("/login", data=form, follow_redirects=False)

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
        return self.as_(cookie).post(path, follow_redirects=False, **kw)


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    app = create_app(settings.replace(credential_cache_secs=0.0, session_idle_secs=3600, login_failures_per_min=3))
    with TestClient(app) as client:
        run = portal_runner(client)
        run(app.state.wb.store.add_wards([(WARD, "Ward Acc", [("B1", "Bay 1")])]))
        run(app.state.wb.accounts.add_user("ada", "Ada Lovelace", PASSWORD, "nurse", (WARD,)))
        yield Site(client, run, app)


def test_password_sign_in_gives_a_session_for_pages_and_api(site: Site) -> None:
    cookie = site.session_cookie(username="ada", password=PASSWORD)
    assert site.get("/m", cookie).status_code == 200
    assert site.get(f"/api/wards/{WARD}", cookie).status_code == 200
    r = site.as_(cookie).patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "by Ada"},
                               headers={"X-Whiteboard-Client": "phone"})
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
    site.run(site.state.accounts.reset_password("ada", "a brand new password", actor="test"))
    assert site.get(f"/api/wards/{WARD}", cookie).status_code == 401
    assert site.login(username="ada", password=PASSWORD).status_code == 401
    cookie = site.session_cookie(username="ada", password="a brand new password")
    site.run(site.state.accounts.disable_user("ada", actor="test"))
    assert site.get(f"/api/wards/{WARD}", cookie).status_code == 401
    assert site.login(username="ada", password="a brand new password").status_code == 401


def test_account_rules(site: Site) -> None:
    accounts = site.state.accounts
    for bad in (("Ada Upper", "x", PASSWORD, "nurse", None), ("bob", "Bob", "short", "nurse", None),
                ("ada", "Again", PASSWORD, "nurse", None), ("kiosk", "K", PASSWORD, "display", (WARD,))):
        with pytest.raises((AccountError, ValueError)):
            site.run(accounts.add_user(*bad))


def test_idle_and_absolute_timeouts_end_staff_sessions_but_not_kiosks(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 't.db'}", credential_cache_secs=0.0,
                              session_idle_secs=1, session_max_age_secs=3))
    with TestClient(app) as client:
        run = portal_runner(client)
        store = app.state.wb.store
        run(store.add_wards([(WARD, "W", [("B1", "Bay")])]))
        run(app.state.wb.accounts.add_user("ada", "Ada", PASSWORD, "nurse", (WARD,)))
        display = run(store.create_credential("display", (WARD,), "board"))[1]
        site = Site(client, run, app)
        staff = site.session_cookie(username="ada", password=PASSWORD)
        kiosk = site.session_cookie(token=display)
        time.sleep(1.6)
        assert site.get(f"/api/wards/{WARD}", staff).status_code == 401  # idle too long
        assert site.get(f"/board/{WARD}", kiosk).status_code == 200  # a wall board never signs itself out
        busy = site.session_cookie(username="ada", password=PASSWORD)
        for _ in range(4):
            time.sleep(0.8)
            last = site.get(f"/api/wards/{WARD}", busy).status_code
        assert last == 401  # active all along, but past the absolute limit
        assert site.get(f"/board/{WARD}", kiosk).status_code == 200


def test_user_cli(tmp_path: Path) -> None:
    db = ["--database-url", f"sqlite:///{tmp_path / 'u.db'}"]
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade", *db])  # only `db upgrade` and `serve` create a database
    runner.invoke(main, ["ward", "add", WARD, "--beds", "2", *db])
    r = runner.invoke(main, ["user", "add", "grace", "--role", "ward_manager", "--ward", WARD, "--name",
                             "Grace Hopper", "--password-stdin", *db], input=PASSWORD + "\n")
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
    import datetime as dt

    from sqlalchemy import update

    from whiteboard.kiosks import Kiosks
    from whiteboard.models import PairingCode

    kiosks = Kiosks(site.state.store)
    code, _ = site.run(kiosks.new_code(WARD, "Ward Acc corridor", actor="test"))
    assert len(code) == 9 and code[4] == "-"
    r = site.login(token=code.lower().replace("-", " "))  # forgiving of case and separators
    assert r.status_code == 303 and r.headers["location"] == f"/board/{WARD}"
    cookie = str(r.cookies["wb_session"])
    assert site.get(f"/board/{WARD}", cookie).status_code == 200
    assert site.login(token=code).status_code == 401  # single use
    [shown] = [d for d in site.run(kiosks.list()) if d.label == "Ward Acc corridor"]
    assert shown.ward == WARD and not shown.revoked
    assert site.run(kiosks.rename(shown.id, "Bay 1 corridor", actor="test"))
    expired, _ = site.run(kiosks.new_code(WARD, "late", actor="test"))
    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    codes = PairingCode.__table__
    site.run(site.state.store.write(lambda conn: conn.execute(update(codes).values(expires_at=long_ago))))
    assert site.login(token=expired).status_code == 401
    assert site.run(site.state.store.revoke_credential(shown.id))
    assert site.get(f"/board/{WARD}", cookie).status_code == 303  # revoked: back to the sign-in page
    audit = site.c.get("/api/audit", params={"ward": WARD}, headers={
        "Authorization": f"Bearer {site.run(site.state.store.create_credential('admin', None, 'a'))[1]}"}).json()
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
    import re

    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


def test_admin_pages_manage_displays_and_people_with_csrf(site: Site) -> None:
    from whiteboard.kiosks import Kiosks

    site.run(site.state.accounts.add_user("boss", "Ward Boss", PASSWORD, "admin", None))
    admin = site.session_cookie(username="boss", password=PASSWORD)
    page = site.get("/admin/displays", admin)
    assert page.status_code == 200 and "Enrol a screen" in page.text
    csrf = _csrf(page.text)
    forged = site.post("/admin/displays", admin, data={"csrf": "0" * 40, "action": "pair", "ward": WARD, "label": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    made = site.post("/admin/displays", admin, data={"csrf": csrf, "action": "pair", "ward": WARD, "label": "Corridor"})
    import re

    code = re.search(r'aria-label="Pairing code">([A-Z0-9-]{9})<', made.text)
    assert made.status_code == 200 and code is not None
    screen = site.session_cookie(token=code.group(1))
    [d] = site.run(Kiosks(site.state.store).list())
    site.post("/admin/displays", admin, data={"csrf": csrf, "action": "revoke", "id": d.id})
    assert site.get(f"/board/{WARD}", screen).status_code == 303  # the screen is signed out
    [revoked] = [a for a in site.run(site.state.store.audit(limit=50)) if a["action"] == "credential.revoked"]
    assert (revoked["actor"], revoked["source"]) == ("Ward Boss", "admin_page")

    people = site.get("/admin/users", admin)
    assert "ada" in people.text and "Ward Boss" in people.text
    csrf = _csrf(people.text)
    added = site.post("/admin/users", admin, data={"csrf": csrf, "action": "add", "username": "grace",
                                                    "name": "Grace H", "role": "viewer", "wards": WARD,
                                                    "password": "another long password"})
    assert "Created grace" in added.text
    weak = site.post("/admin/users", admin, data={"csrf": csrf, "action": "add", "username": "weak", "name": "W",
                                                   "role": "viewer", "wards": "", "password": "short"})
    assert "at least 12" in weak.text
    grace = site.session_cookie(username="grace", password="another long password")
    site.post("/admin/users", admin, data={"csrf": csrf, "action": "disable", "username": "grace"})
    assert site.get("/m", grace).status_code == 303


def test_the_audit_page_filters_and_links_the_csv(site: Site) -> None:
    site.run(site.state.accounts.add_user("mgr", "Ward Manager", PASSWORD, "ward_manager", (WARD,)))
    nurse = site.session_cookie(username="ada", password=PASSWORD)
    site.as_(nurse).patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "audited"},
                          headers={"X-Whiteboard-Client": "phone"})
    manager = site.session_cookie(username="mgr", password=PASSWORD)
    page = site.get(f"/audit?ward={WARD}&person=Ada+Lovelace", manager)
    assert page.status_code == 200 and "Ada Lovelace" in page.text and "bed.updated" in page.text
    assert "format=csv" in page.text
    assert site.get("/audit", nurse).status_code == 403
    assert site.get("/audit?ward=elsewhere", manager).status_code == 403
