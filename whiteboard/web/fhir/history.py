"""The observation history FHIR Observation searches need, read from the store within the credential's scope."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from whiteboard.access.auth import Principal
from whiteboard.state import wb
from whiteboard.types import JSONDict

# Sets per patient in one answer (newest first): a fortnight of hourly charting; `_count` changes nothing.
PER_PATIENT: Final = 100
Histories = dict[tuple[str, str], list[JSONDict]]


def _row_ids(params: dict[str, list[str]]) -> list[int] | None:
    """`_id` alone naming only charted sets (`o{n}`): the rows can be read by id, not patient by patient."""
    if set(params) != {"_id"}:
        return None
    ids = [v[1:] for v in params["_id"]]
    if not all(v[:1] == "o" for v in params["_id"]) or not all(i.isdigit() and len(i) <= 18 for i in ids):
        return None
    return [int(i) for i in ids]


def _whose(row: JSONDict, patient: JSONDict) -> bool:
    """The store's own rule: by NHS number, else by name with admission time."""
    if row["nhs_number"]:
        return bool(row["nhs_number"] == patient.get("nhs_number"))
    return not patient.get("nhs_number") and (row["patient_name"], row["admitted_at"]) == (
        patient.get("name"),
        patient.get("admitted_at"),
    )


async def histories(
    request: Request, who: Principal, beds: list[tuple[str, JSONDict]], params: dict[str, list[str]]
) -> Histories:
    """(ward, bed) → the patient's charted sets, newest first. A ward-scoped credential sees only the sets
    charted on its own wards (the store's `ward_id`), an all-wards one every set of the patient's."""
    store = wb(request).store
    by_id = _row_ids(params)
    out: Histories = {}
    if by_id is not None:  # a read by id: those rows, each given to the covered patient it belongs to
        rows = [r for r in await store.observations_by_id(by_id) if who.covers(r["ward"])]
        for ward_id, bed in beds:
            out[(ward_id, bed["id"])] = [r for r in rows if _whose(r, bed["patient"])]
        return out
    scopes: tuple[str | None, ...] = who.wards if who.wards is not None else (None,)
    for ward_id, bed in beds:
        patient: JSONDict = bed["patient"]
        found: list[JSONDict] = []
        for scope in scopes:
            found += await store.patient_observations(
                nhs_number=patient.get("nhs_number") or None,
                name=patient.get("name") or None,
                admitted_at=patient.get("admitted_at"),
                ward_id=scope,
                limit=PER_PATIENT,
            )
        found.sort(key=lambda r: (r["recorded_at"], r["id"]), reverse=True)
        out[(ward_id, bed["id"])] = found[:PER_PATIENT]
    return out
