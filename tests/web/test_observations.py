"""Observations over HTTP, on the embedded default and on PostgreSQL + Redis: the preview the phone shows
before saving is exactly what the save charts, saves nothing, and refuses what the save would refuse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner
from whiteboard.app import create_app
from whiteboard.settings import Settings

WARD = "ward-obs"
OBS = {"respiration_rate": 25, "spo2": 93, "spo2_scale": 1, "on_oxygen": True, "systolic_bp": 100, "pulse": 112,
       "consciousness": "A", "temperature": 38.5}  # fmt: skip


class Site:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.c = client
        self.tokens = tokens

    def post(self, path: str, body: Any, who: str = "nurse") -> Any:
        return self.c.post(
            f"/api/wards/{WARD}/beds/{path}", json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def ward(self, who: str = "admin") -> dict[str, Any]:
        r = self.c.get(f"/api/wards/{WARD}", headers={"Authorization": f"Bearer {self.tokens[who]}"})
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    app = create_app(settings)
    with TestClient(app) as client:
        store = app.state.wb.store
        run = portal_runner(client)
        run(store.add_wards([(WARD, WARD, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP))
        tokens = {role: run(store.create_credential(role, (WARD,), role, actor=SETUP))[1]
                  for role in ("nurse", "viewer", "display")}  # fmt: skip
        tokens["admin"] = run(store.create_credential("admin", None, "admin", actor=SETUP))[1]
        s = Site(client, tokens)
        client.patch(f"/api/wards/{WARD}/beds/B1", json={"patient": {"name": "Ada Lovelace"}},
                     headers={"Authorization": f"Bearer {tokens['admin']}"})  # fmt: skip
        yield s


def test_the_preview_is_what_the_save_charts_and_saves_nothing(site: Site) -> None:
    before = site.ward()
    preview = site.post("B1/observations/preview", OBS)
    assert preview.status_code == 200, preview.text
    shown = preview.json()["news2"]
    # 25/min 3, 93 % 2, oxygen 2, 100 mmHg 2, 112/min 2, alert 0, 38.5 °C 1
    assert (shown["score"], shown["red_score"], shown["risk"], shown["monitoring"]) == (12, True, "high", "continuous")
    assert shown["parameters"] == {"respiration_rate": 3, "spo2": 2, "air_or_oxygen": 2, "systolic_bp": 2,
                                   "pulse": 2, "consciousness": 0, "temperature": 1}  # fmt: skip
    assert "Emergency" in shown["response"]
    assert site.ward() == before  # nothing written
    saved = site.post("B1/observations", OBS)
    assert saved.status_code == 200, saved.text
    charted = saved.json()["news2"]
    assert {k: charted[k] for k in ("score", "red_score", "risk", "monitoring", "parameters", "response")} == {
        k: shown[k] for k in ("score", "red_score", "risk", "monitoring", "parameters", "response")}  # fmt: skip
    bed = site.ward()["beds"][0]
    assert bed["patient"]["news2"]["score"] == 12 and bed["patient"]["news2"]["next_due"] == charted["next_due"]
    board = site.ward("display")["beds"][0]["patient"]
    assert board["news2"]["score"] == 12 and "spo2_scale_2" not in board and "name" not in board


@pytest.mark.parametrize(
    ("path", "body", "who", "status", "code"),
    [
        ("B2/observations/preview", OBS, "nurse", 422, "no_patient"),
        ("B9/observations/preview", OBS, "nurse", 404, "not_found"),
        ("B1/observations/preview", {**OBS, "spo2_scale": 2}, "nurse", 422, "scale_2_not_decided"),
        ("B1/observations", {**OBS, "spo2_scale": 2}, "nurse", 422, "scale_2_not_decided"),
        ("B1/observations/preview", {**OBS, "pulse": 500}, "nurse", 422, "invalid"),
        ("B1/observations/preview", OBS, "viewer", 403, "forbidden"),
        ("B1/observations/preview", OBS, "display", 403, "forbidden"),
    ],
)
def test_refusals(site: Site, path: str, body: Any, who: str, status: int, code: str) -> None:
    before = site.ward()
    r = site.post(path, body, who)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert site.ward() == before


def test_scale_2_once_a_clinician_decided_it(site: Site) -> None:
    decided = site.c.patch(f"/api/wards/{WARD}/beds/B1", json={"patient": {"spo2_scale_2": {"decided_by": "Dr Shah"}}},
                           headers={"Authorization": f"Bearer {site.tokens['nurse']}"})  # fmt: skip
    assert decided.status_code == 200, decided.text
    body = {**OBS, "spo2": 90, "spo2_scale": 2, "on_oxygen": False}
    preview = site.post("B1/observations/preview", body).json()["news2"]
    assert preview["parameters"]["spo2"] == 0
    assert site.post("B1/observations", body).status_code == 200
    assert site.ward()["beds"][0]["patient"]["spo2_scale_2"]["decided_by"] == "Dr Shah"
