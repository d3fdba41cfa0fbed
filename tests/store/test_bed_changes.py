"""Several bed changes in one request (a FHIR transaction): all or nothing, on SQLite and PostgreSQL, and
without taking the other requests of the same group commit down with it."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.support import SETUP
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.changes import BedChanges
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import record
from whiteboard.errors import ChangeRefused
from whiteboard.store import Actor, Store, WriteRequest, Written

FEED = Actor(name="FHIR client", role="nurse", credential_id="c-fhir", source="fhir")


async def _ward(store: Store) -> str:
    ward_id = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward_id, ward_id, [(f"B{i}", "Bay 1") for i in range(1, 4)])], actor=SETUP)
    return ward_id


def _changes(*items: tuple[str, str, dict[str, object]]) -> BedChanges:
    return BedChanges(tuple((w, b, parse_patch(body)) for w, b, body in items))


async def test_all_changes_commit_together_each_with_its_event(store: Store) -> None:
    a, b = await _ward(store), await _ward(store)
    changes = _changes((b, "B1", {"status": "closed"}), (a, "B2", {"patient": {"name": "Ann Bell"}}),
                       (a, "B1", {"status": "cleaning"}))  # fmt: skip
    [result] = await store.apply_batch([WriteRequest(a, None, changes, FEED, request_id="tx-1")])
    assert isinstance(result, Written) and result.event is None
    # In the order given (the wards are locked first, in id order), one event and one outbox row per change.
    assert [(p.ward_id, p.event["bed"], p.seq) for p in result.parts if p.event] == [
        (b, "B1", 1),
        (a, "B2", 1),
        (a, "B1", 2),
    ]
    state = await store.load_ward(a)
    assert state is not None and state.seq == 2
    assert {bed["id"]: bed["status"] for bed in state.beds} == {"B1": "cleaning", "B2": "occupied", "B3": "empty"}
    assert [r.seq for r in await store.outbox_rows(b, 0, 10)] == [1]
    records = await store.audit(ward=a)
    assert {r["action"] for r in records if r["request_id"] == "tx-1"} == {"bed.updated", "patient.admitted"}
    assert all(r["source"] == "fhir" for r in records if r["request_id"] == "tx-1")


async def test_one_refusal_undoes_every_change_but_not_the_batch_neighbours(store: Store) -> None:
    a = await _ward(store)
    # B1 is fine; B2 is refused inside the transaction (a patient cannot be on a closed bed) after B1 wrote.
    bad = _changes((a, "B1", {"status": "cleaning"}), (a, "B2", {"status": "closed", "patient": {"name": "X Y"}}))
    neighbour = WriteRequest(a, "B3", parse_patch({"notes": "side room"}), FEED)
    refused, written = await store.apply_batch([WriteRequest(a, None, bad, FEED), neighbour])
    assert isinstance(refused, ChangeRefused) and (refused.ward_id, refused.bed_id) == (a, "B2")
    assert refused.status == 422 and "B2" in refused.message
    assert isinstance(written, Written) and written.seq == 1  # B1's write was rolled back: the neighbour is seq 1
    state = await store.load_ward(a)
    assert state is not None and state.seq == 1
    assert {bed["id"]: bed["status"] for bed in state.beds} == {"B1": "empty", "B2": "empty", "B3": "empty"}
    assert [r.seq for r in await store.outbox_rows(a, 0, 10)] == [1]
    assert [r["action"] for r in await store.audit(ward=a) if r["action"] != "ward.created"] == ["bed.updated"]


async def test_nothing_to_change_writes_nothing(store: Store) -> None:
    a = await _ward(store)
    [result] = await store.apply_batch([WriteRequest(a, None, _changes((a, "B1", {"status": "empty"})), FEED)])
    assert isinstance(result, Written) and result.parts == ()
    state = await store.load_ward(a)
    assert state is not None and state.seq == 0


async def test_a_move_and_the_changes_after_it_commit_together(store: Store) -> None:
    """A transfer (the write path's Move) first, then a change to the patient in their new bed, across two wards."""
    a, b = await _ward(store), await _ward(store)
    [admitted] = await store.apply_batch([WriteRequest(a, "B1", parse_patch({"patient": {"name": "Ann Bell"}}), FEED)])
    assert isinstance(admitted, Written)
    changes = BedChanges(((a, "B1", Move(b, "B2")), (b, "B2", parse_patch({"patient": {"consultant": "Dr Shah"}}))))
    [result] = await store.apply_batch([WriteRequest(a, None, changes, FEED)])
    assert isinstance(result, Written)
    move = result.parts[0]
    assert [w.ward_id for w in (move, *move.also)] == [a, b]  # the other ward's half rides in `also`
    there = await store.load_ward(b)
    assert there is not None
    ann = {bed["id"]: bed for bed in there.beds}["B2"]["patient"]
    assert (ann["name"], ann["consultant"]) == ("Ann Bell", "Dr Shah")
    # A refused move undoes the change before it: B3 of ward b is not empty after this.
    bad = BedChanges(((b, "B3", parse_patch({"status": "closed"})), (a, "B2", Move(b, "B2"))))
    [refused] = await store.apply_batch([WriteRequest(a, None, bad, FEED)])
    assert isinstance(refused, ChangeRefused)
    again = await store.load_ward(b)
    assert again is not None and {bed["id"]: bed["status"] for bed in again.beds}["B3"] == "empty"


_SET = {"respiration_rate": 25, "spo2": 97, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 80,
        "consciousness": "A", "temperature": 37.0}  # fmt: skip


async def test_a_charted_set_is_an_item_with_its_history_row(store: Store) -> None:
    """An admission and its first set in one request: the set is charted on the new patient (NEWS2 on the bed,
    the history row) in the same transaction."""
    a = await _ward(store)
    now = dt.datetime.now(dt.UTC)
    admit = parse_patch({"patient": {"name": "Ann Bell", "nhs_number": "9434765919"}})
    changes = BedChanges(((a, "B1", admit), (a, "B1", record(_SET, now, expect={"nhs_number": "9434765919"}))))
    [result] = await store.apply_batch([WriteRequest(a, None, changes, FEED)])
    assert isinstance(result, Written) and [p.event["kind"] for p in result.parts if p.event] == [
        "patient.admitted",
        "bed.updated",
    ]
    state = await store.load_ward(a)
    assert state is not None and state.beds[0]["patient"]["news2"]["score"] == 3
    [row] = await store.patient_observations(nhs_number="9434765919")
    assert row["source"] == "fhir" and row["news2"]["score"] == 3


async def test_a_refused_set_undoes_the_changes_before_it(store: Store) -> None:
    """Refused inside the transaction (the bed holds someone else): the bed change before it is undone too."""
    a = await _ward(store)
    await store.apply_batch(
        [WriteRequest(a, "B2", parse_patch({"patient": {"name": "Cy Dee", "nhs_number": "4010232137"}}), FEED)]
    )
    seq = (await store.load_ward(a)).seq  # type: ignore[union-attr]
    wrong = record(_SET, dt.datetime.now(dt.UTC), expect={"nhs_number": "9434765919"})
    changes = BedChanges(((a, "B1", parse_patch({"status": "closed"})), (a, "B2", wrong)))
    [refused] = await store.apply_batch([WriteRequest(a, None, changes, FEED)])
    assert isinstance(refused, ChangeRefused) and (refused.bed_id, refused.code) == ("B2", "wrong_patient")
    state = await store.load_ward(a)
    assert state is not None and state.seq == seq and state.beds[0]["status"] == "empty"
    assert state.beds[1]["patient"].get("news2") is None
    assert await store.patient_observations(name="Cy Dee", admitted_at=state.beds[1]["patient"]["admitted_at"]) == []
