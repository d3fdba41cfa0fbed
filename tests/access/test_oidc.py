"""OpenID Connect sign-in against a provider the test runs on loopback (tests/oidc_provider.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import httpx2
import pytest
from starlette.testclient import TestClient

from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.support import SETUP, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings

WARD = "ward-sso"


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider() as p:
        yield p


@pytest.fixture
def client(provider: Provider, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'sso.db'}",
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_name="Test Trust ID",
    )
    app = create_app(settings)
    with TestClient(app) as c:
        wards = [(WARD, "SSO", [("B1", "Bay")]), ("ward-x", "X", [])]
        portal_runner(c)(app.state.wb.store.add_wards(wards, actor=SETUP))
        yield c


def sso(client: TestClient, next_path: str = "") -> httpx2.Response:
    """Click the button, let the provider sign the person in, come back: the answer of the callback."""
    client.cookies.clear()
    start = client.get("/login/oidc" + (f"?next={next_path}" if next_path else ""), follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"].startswith("http://127.0.0.1:")
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["location"])
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)


def test_the_login_page_offers_single_sign_on(client: TestClient) -> None:
    assert "Sign in with Test Trust ID" in client.get("/login").text


def test_a_person_signs_in_with_the_role_and_wards_from_their_claims(client: TestClient, provider: Provider) -> None:
    provider.user = {"sub": "u-42", "name": "Sister Mary", "whiteboard_role": "nurse", "whiteboard_wards": [WARD]}
    done = sso(client, "/m")
    assert done.status_code == 303 and done.headers["location"] == "/m"
    session = done.cookies["wb_session"]
    client.cookies.clear()
    client.cookies.set("wb_session", session)
    assert client.get("/m").status_code == 200
    assert client.get(f"/api/wards/{WARD}").status_code == 200
    assert client.get("/api/wards/ward-x").status_code == 403  # only the wards the claim names
    r = client.patch(f"/api/wards/{WARD}/beds/B1", json={"notes": "via SSO"}, headers={"X-Whiteboard-Client": "phone"})
    assert r.status_code == 200 and r.json()["event"]["by"] == "Sister Mary"
    records = portal_runner(client)(client.app.state.wb.store.audit(limit=50))  # type: ignore[attr-defined]
    mine = {(a["action"], a["actor"], a["source"]) for a in records if a["action"].startswith(("user.", "session."))}
    assert mine == {("user.created", "Sister Mary", "oidc"), ("session.signed_in", "Sister Mary", "oidc")}


@pytest.mark.parametrize(
    ("user", "problem"),
    [
        ({"sub": "u-2", "name": "No Role"}, "no ward whiteboard role"),
        ({"sub": "u-3", "name": "Kiosk", "whiteboard_role": "display"}, "no ward whiteboard role"),
    ],
)
def test_people_without_a_staff_role_are_refused(
    client: TestClient, provider: Provider, user: dict[str, str], problem: str
) -> None:
    provider.user = user
    r = sso(client)
    assert r.status_code == 403 and problem in r.text and "wb_session" not in r.cookies
    records = portal_runner(client)(client.app.state.wb.store.audit(limit=50))  # type: ignore[attr-defined]
    refused = [(a["action"], a["source"]) for a in records if a["action"].startswith("session.")]
    assert refused == [("session.sign_in_failed", "oidc")]


def test_a_token_for_another_client_is_refused(client: TestClient, provider: Provider) -> None:
    provider.audience = "someone-else"
    r = sso(client)
    assert r.status_code == 403 and "not valid" in r.text


def test_a_callback_this_browser_did_not_start_is_refused(client: TestClient, provider: Provider) -> None:
    client.cookies.clear()
    start = client.get("/login/oidc", follow_redirects=False)
    back = urlsplit(httpx.get(start.headers["location"], follow_redirects=False).headers["location"])
    client.cookies.clear()  # another browser: no flow cookie
    r = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert r.status_code == 403 and "start again" in r.text
    forged = client.get("/login/oidc/callback?code=x&state=y", follow_redirects=False)
    assert forged.status_code == 403


def test_without_configuration_there_is_no_single_sign_on(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    with TestClient(app) as c:
        assert c.get("/login/oidc", follow_redirects=False).status_code == 404
        assert "Sign in with" not in c.get("/login").text
