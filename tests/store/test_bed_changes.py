"""Several bed changes in one request (a FHIR transaction): all or nothing, on SQLite and PostgreSQL, and
without taking the other requests of the same group commit down with it."""

from __future__ import annotations

import uuid

from tests.support import SETUP
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.changes import BedChanges
from whiteboard.domain.moves import Move
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
