"""An in-process app on both backend sets (the `settings` fixture) with two wards, a patient with NEWS2 on B1,
and a token per role."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.support import SETUP, InProcessSite
from whiteboard.app import create_app
from whiteboard.settings import Settings

WARD = "ward-fhir"
OTHER = "ward-other"
ADA = {"name": "Ada Lovelace", "nhs_number": "9434765919", "date_of_birth": "1935-12-10", "sex": "F"}
OBS = {"respiration_rate": 22, "spo2": 95, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 95,
       "consciousness": "A", "temperature": 38.2}  # fmt: skip


class FhirSite(InProcessSite):
    WARD = WARD

    def get(self, path: str, role: str = "nurse", **params: str) -> Any:
        return self.c.get(path, params=params, headers=self.as_(role) if role else {})

    def post(self, body: Any, role: str = "nurse") -> Any:
        return self.c.post("/fhir", json=body, headers={**self.as_(role), "Content-Type": "application/fhir+json"})

    def snapshot(self, ward: str = WARD) -> dict[str, Any]:
        body: dict[str, Any] = self.c.get(f"/api/wards/{ward}", headers=self.as_("admin")).json()
        return body

    def audit(self, ward: str = WARD) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.c.get(
            "/api/audit", params={"ward": ward}, headers=self.as_("admin")
        ).json()
        return records

    def changes_audited(self) -> int:
        """Audit records of changes (reads are audited too, and the checks themselves read)."""
        return sum(1 for r in self.audit() if not r["action"].startswith("read."))


@pytest.fixture
def fhir_site(settings: Settings) -> Iterator[FhirSite]:
    settings = dataclasses.replace(settings, max_body_bytes=256 * 1024)  # room for a ward's import
    app = create_app(settings)
    with TestClient(app) as client:
        s = FhirSite(client, app, {})
        store = app.state.wb.store
        s.run(store.add_wards([(WARD, "Ward FHIR", [(f"B{i}", "Bay 1") for i in range(1, 5)])], actor=SETUP))
        s.run(store.add_wards([(OTHER, "Other Ward", [("B1", "Bay 1")])], actor=SETUP))
        for name, role, wards in [("admin", "admin", None), ("nurse", "nurse", (WARD,)), ("viewer", "viewer", (WARD,)),
                                  ("display", "display", (WARD,)), ("ops", "ops", None),
                                  ("other_nurse", "nurse", (OTHER,))]:  # fmt: skip
            s.tokens[name] = s.run(store.create_credential(role, wards, f"fhir {name}", actor=SETUP))[1]  # type: ignore[index]
        assert (
            client.patch(f"/api/wards/{WARD}/beds/B1", json={"patient": ADA}, headers=s.as_("nurse")).status_code == 200
        )
        r = client.post(f"/api/wards/{WARD}/beds/B1/observations", json=OBS, headers=s.as_("nurse"))
        assert r.status_code == 200, r.text
        yield s
