"""The observation history FHIR Observation searches need, read from the store within the credential's scope."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from whiteboard.access.auth import Principal
from whiteboard.state import wb
from whiteboard.types import JSONDict

# Sets per patient in one answer (newest first): a fortnight of hourly charting; `_count` changes nothing.
PER_PATIENT: Final = 100


async def histories(
    request: Request, who: Principal, beds: list[tuple[str, JSONDict]]
) -> dict[tuple[str, str], list[JSONDict]]:
    """(ward, bed) → the patient's charted sets, newest first. A ward-scoped credential sees only the sets
    charted on its own wards (the store's `ward_id`), an all-wards one every set of the patient's."""
    store = wb(request).store
    scopes: tuple[str | None, ...] = who.wards if who.wards is not None else (None,)
    out: dict[tuple[str, str], list[JSONDict]] = {}
    for ward_id, bed in beds:
        patient: JSONDict = bed["patient"]
        rows: list[JSONDict] = []
        for scope in scopes:
            rows += await store.patient_observations(
                nhs_number=patient.get("nhs_number") or None,
                name=patient.get("name") or None,
                admitted_at=patient.get("admitted_at"),
                ward_id=scope,
                limit=PER_PATIENT,
            )
        rows.sort(key=lambda r: (r["recorded_at"], r["id"]), reverse=True)
        out[(ward_id, bed["id"])] = rows[:PER_PATIENT]
    return out
