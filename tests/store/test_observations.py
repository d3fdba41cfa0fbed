"""The observation history, against a SQLite file and a real PostgreSQL database: a charted set updates the
bed and adds its history row in one transaction, a refused one adds neither, and a patient's sets are listed
newest first across a transfer (the record, and so the history's key, moves with the patient)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.support import SETUP, write_one
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import record
from whiteboard.errors import DomainError, PreconditionFailed
from whiteboard.store import Actor, Store, WriteRequest

NURSE = Actor(name="RN Obs", role="nurse", credential_id="c1", source="phone")
OBS = {"respiration_rate": 22, "spo2": 95, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 95,
       "consciousness": "A", "temperature": 37.0}  # fmt: skip
AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


async def ward(store: Store) -> str:
    ward_id = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward_id, ward_id, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP)
    return ward_id


write = write_one


def chart(ward_id: str, bed: str, minutes: int = 0, **body: Any) -> WriteRequest:
    return WriteRequest(ward_id, bed, record({**OBS, **body}, AT + dt.timedelta(minutes=minutes)), NURSE)


async def test_a_charted_set_updates_the_bed_and_the_history_together(store: Store) -> None:
    w = await ward(store)
    ada = {"name": "Ada Lovelace", "nhs_number": "9434765919"}
    await write(store, WriteRequest(w, "B1", parse_patch({"patient": ada}), NURSE))
    written = await write(store, chart(w, "B1"))
    assert written.event is not None and written.event["changes"]["patient"]["news2"]["score"] == 4
    [row] = await store.patient_observations(nhs_number="9434765919")
    assert row["ward"] == w and row["bed"] == "B1" and row["offset"] == f"{written.seq}-0"
    assert row["values"] == OBS and row["recorded_by"] == "RN Obs" and row["source"] == "phone"
    assert row["news2"] == {"score": 4, "red_score": False, "risk": "low", "monitoring": "4-6-hourly",
                            "next_due": "2026-12-01T13:00:00.000Z"}  # fmt: skip
    assert row["recorded_at"] == "2026-12-01T09:00:00.000Z"


async def test_history_follows_the_patient_across_a_transfer(store: Store) -> None:
    a, b = await ward(store), await ward(store)
    await write(store, WriteRequest(a, "B1", parse_patch({"patient": {"name": "Mary Seacole"}}), NURSE))
    await write(store, chart(a, "B1"))
    await write(store, WriteRequest(a, "B1", Move(b, "B2"), NURSE))
    await write(store, chart(b, "B2", minutes=60, pulse=135))
    state = await store.load_ward(b)
    assert state is not None
    patient = next(x["patient"] for x in state.beds if x["id"] == "B2")
    rows = await store.patient_observations(name=patient["name"], admitted_at=patient["admitted_at"])
    assert [(r["ward"], r["bed"], r["values"]["pulse"]) for r in rows] == [(b, "B2", 135), (a, "B1", 95)]
    on_a = await store.patient_observations(name=patient["name"], admitted_at=patient["admitted_at"], ward_id=a)
    assert [r["ward"] for r in on_a] == [a]
    assert await store.patient_observations(name="Mary Seacole", admitted_at="another admission") == []
    assert await store.patient_observations() == []


@pytest.mark.parametrize(
    ("setup", "request_of", "error", "code"),
    [
        (None, lambda w: chart(w, "B1"), DomainError, "no_patient"),
        ({"name": "Ada"}, lambda w: chart(w, "B1", spo2_scale=2), DomainError, "scale_2_not_decided"),
        ({"name": "Ada"}, lambda w: WriteRequest(w, "B1", chart(w, "B1").patch, NURSE, if_match_seq=0),
         PreconditionFailed, "precondition_failed"),
    ],
)  # fmt: skip
async def test_a_refused_set_writes_nothing(store: Store, setup: Any, request_of: Any, error: Any, code: str) -> None:
    w = await ward(store)
    if setup is not None:
        await write(store, WriteRequest(w, "B1", parse_patch({"patient": setup}), NURSE))
    before = await store.load_ward(w)
    with pytest.raises(error) as refused:
        await write(store, request_of(w))
    assert refused.value.code == code
    after = await store.load_ward(w)
    assert before is not None and after is not None and after.seq == before.seq and after.beds == before.beds
    assert await store.patient_observations(name="Ada", admitted_at=None) == []
    if setup is not None:
        admitted = after.beds[0]["patient"]["admitted_at"]
        assert await store.patient_observations(name="Ada", admitted_at=admitted) == []


async def test_scale_2_is_charted_once_the_decision_is_recorded(store: Store) -> None:
    w = await ward(store)
    decision = {"name": "Ada", "spo2_scale_2": {"decided_by": "Dr A Shah"}}
    await write(store, WriteRequest(w, "B1", parse_patch({"patient": decision}), NURSE))
    written = await write(store, chart(w, "B1", spo2=89, spo2_scale=2))
    assert written.event is not None
    patient = written.event["changes"]["patient"]
    assert patient["spo2_scale_2"]["decided_by"] == "Dr A Shah" and patient["spo2_scale_2"]["decided_at"]
    assert patient["news2"]["score"] == 3  # 89 % on Scale 2 scores 0; respiration 22 scores 2, pulse 95 1


async def test_sets_are_read_by_their_ids_newest_first(store: Store) -> None:
    w = await ward(store)
    ada = {"name": "Ada Lovelace", "nhs_number": "9434765919"}
    mary = {"name": "Mary Seacole", "nhs_number": "9434765870"}
    await write(store, WriteRequest(w, "B1", parse_patch({"patient": ada}), NURSE))
    await write(store, WriteRequest(w, "B2", parse_patch({"patient": mary}), NURSE))
    await write(store, chart(w, "B1"))
    await write(store, chart(w, "B2", minutes=30, pulse=120))
    [adas] = await store.patient_observations(nhs_number="9434765919", ward_id=w)
    [marys] = await store.patient_observations(nhs_number="9434765870", ward_id=w)
    assert await store.observations_by_id([adas["id"], marys["id"], 10**12]) == [marys, adas]  # an unknown id: nothing
    assert await store.observations_by_id([]) == []
