"""Several bed changes in one request (a FHIR transaction): all or nothing, on SQLite and PostgreSQL, and
without taking the other requests of the same group commit down with it."""

from __future__ import annotations

import uuid

from tests.support import SETUP
from whiteboard.domain.beds import BedChanges, parse_patch
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
    # In ward and bed order (the lock order), one event and one outbox row per change, numbered per ward.
    assert [(p.ward_id, p.event["bed"], p.seq) for p in result.parts if p.event] == [
        *sorted([(a, "B1", 1), (a, "B2", 2), (b, "B1", 1)])
    ]
    state = await store.load_ward(a)
    assert state is not None and state.seq == 2
    assert {bed["id"]: bed["status"] for bed in state.beds} == {"B1": "cleaning", "B2": "occupied", "B3": "empty"}
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
