"""One bed change in the store, against a SQLite file and a real PostgreSQL database: what a discharge or a
replacing admission does to the bed's notes (hazard H60), with the cleared notes kept in the audit record."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from tests.support import SETUP, write_one
from whiteboard.domain.beds import parse_patch
from whiteboard.errors import DomainError
from whiteboard.store import Actor, Store, WriteRequest

NURSE = Actor(name="RN Notes", role="nurse", credential_id="c1", source="api")
ADA = {"name": "Ada Lovelace", "nhs_number": "9434765919"}
NOTE = "Daughter calling at 3, for CT head"


async def ward(store: Store) -> str:
    ward_id = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward_id, ward_id, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP)
    return ward_id


async def put(store: Store, ward_id: str, body: dict[str, Any], bed: str = "B1") -> dict[str, Any] | None:
    """Write `body` to the bed; the event it made (None: it changed nothing)."""
    return (await write_one(store, WriteRequest(ward_id, bed, parse_patch(body), NURSE))).event


async def bed(store: Store, ward_id: str, bed_id: str = "B1") -> dict[str, Any]:
    state = await store.load_ward(ward_id)
    assert state is not None
    return next(b for b in state.beds if b["id"] == bed_id)


async def test_a_discharge_clears_the_notes_in_the_same_change_and_the_audit_keeps_them(store: Store) -> None:
    w = await ward(store)
    await put(store, w, {"patient": ADA, "notes": NOTE})
    event = await put(store, w, {"patient": None})
    assert event is not None and event["kind"] == "patient.discharged"
    assert event["changes"]["notes"] == "" and event["changes"]["patient"] is None  # boards drop them live
    assert (await bed(store, w))["notes"] == ""
    [record] = [r for r in await store.audit(ward=w) if r["action"] == "patient.discharged"]
    assert record["before"]["notes"] == NOTE and record["before"]["patient"]["name"] == "Ada Lovelace"
    assert record["after"]["notes"] == "" and record["offset"] == "{}-0".format(event["changes"]["version"])
    assert (await store.verify_audit())[2] is None


async def test_notes_sent_with_the_discharge_stay_on_the_bed(store: Store) -> None:
    w = await ward(store)
    await put(store, w, {"patient": ADA, "notes": NOTE})
    await put(store, w, {"patient": None, "notes": "HPV clean after C. diff"})
    assert (await bed(store, w))["notes"] == "HPV clean after C. diff"


async def test_admit_replacing_the_patient_clears_the_notes_an_admission_to_an_empty_bed_keeps_them(
    store: Store,
) -> None:
    w = await ward(store)
    await put(store, w, {"notes": "Expected admission from ED"})
    admitted = await put(store, w, {"patient": ADA})
    assert admitted is not None and "notes" not in admitted["changes"]
    assert (await bed(store, w))["notes"] == "Expected admission from ED"
    replaced = await put(store, w, {"admit": True, "patient": {"name": "Mary Seacole"}})
    assert replaced is not None and replaced["changes"]["notes"] == ""
    assert (await bed(store, w))["notes"] == ""


async def test_a_refused_discharge_leaves_the_notes(store: Store) -> None:
    """All or nothing: a feed's discharge for someone else is refused, and the notes stay with Ada."""
    w = await ward(store)
    await put(store, w, {"patient": ADA, "notes": NOTE})
    patch = dataclasses.replace(parse_patch({"patient": None}), expect={"nhs_number": "9876543210"})
    with pytest.raises(DomainError):
        await write_one(store, WriteRequest(w, "B1", patch, NURSE))
    after = await bed(store, w)
    assert after["notes"] == NOTE and after["patient"]["name"] == "Ada Lovelace"
