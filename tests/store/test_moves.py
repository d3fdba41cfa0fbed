"""Transfers and swaps in the store, against a SQLite file and a real PostgreSQL database: both beds in one
transaction, one event and one outbox row per ward, an audit record per bed on its ward's chain, and every
refusal leaving both wards exactly as they were."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest

from tests.support import SETUP, write_one
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.moves import Move, parse_move
from whiteboard.errors import ApiError, Conflict, DomainError, NotFound, PreconditionFailed
from whiteboard.store import Actor, Store, WriteRequest, Written

NURSE = Actor(name="RN Mover", role="nurse", credential_id="c1", source="api")
FEED = Actor(name="PAS", role="admin", source="feed:hl7")


async def ward(store: Store, beds: int = 3) -> str:
    ward_id = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward_id, ward_id, [(f"B{i}", "Bay 1") for i in range(1, beds + 1)])], actor=SETUP)
    return ward_id


write = write_one


async def admit(store: Store, ward_id: str, bed: str, name: str) -> Written:
    body = {"patient": {"name": name, "nhs_number": "9434765919", "flags": ["falls"], "tasks": [{"text": "FBC"}]}}
    return await write(store, WriteRequest(ward_id, bed, parse_patch(body), NURSE))


def move(ward_id: str, bed: str, to_ward: str, to_bed: str, *, swap: bool = False, **kw: Any) -> WriteRequest:
    return WriteRequest(ward_id, bed, Move(to_ward, to_bed, swap, kw.pop("to_version", None)), NURSE, **kw)


async def beds(store: Store, ward_id: str) -> dict[str, dict[str, Any]]:
    state = await store.load_ward(ward_id)
    assert state is not None
    return {b["id"]: b for b in state.beds}


async def moves_audited(store: Store, ward_id: str) -> list[tuple[str, str]]:
    records = await store.audit(ward=ward_id)
    return [(r["action"], r["bed"]) for r in reversed(records) if r["action"].startswith("patient.") and
            r["action"] != "patient.admitted"]  # fmt: skip


async def test_a_transfer_across_wards_moves_the_whole_record_in_one_transaction(store: Store) -> None:
    a, b = await ward(store), await ward(store)
    admitted = await admit(store, a, "B1", "Ada Lovelace")
    w = await write(store, move(a, "B1", b, "B2"))
    assert w.ward_id == a and w.event is not None
    assert w.event["kind"] == "patient.transferred_out" and w.event["to"] == {"ward": b, "bed": "B2"}
    assert w.event["changes"]["patient"] is None and w.event["changes"]["status"] == "cleaning"
    [other] = w.also
    assert other.ward_id == b and other.seq == 1 and other.event is not None
    assert other.event["kind"] == "patient.transferred_in" and other.event["from"] == {"ward": a, "bed": "B1"}
    assert orjson.loads(other.payload or b"") == other.event
    source, target = await beds(store, a), await beds(store, b)
    assert source["B1"]["patient"] is None and source["B1"]["status"] == "cleaning"
    assert target["B2"]["status"] == "occupied"
    assert target["B2"]["patient"] == admitted.event["changes"]["patient"]  # type: ignore[index]
    assert source["B1"]["version"] == w.seq and target["B2"]["version"] == other.seq
    # one outbox row per ward, at each ward's own next sequence number
    pending = {(r.ward_id, r.seq) for r in await store.pending_outbox()}
    assert {(a, w.seq), (b, other.seq)} <= pending
    assert await moves_audited(store, a) == [("patient.transferred_out", "B1")]
    assert await moves_audited(store, b) == [("patient.transferred_in", "B2")]
    assert (await store.verify_audit())[2] is None


async def test_a_transfer_within_a_ward_is_one_event_naming_both_beds(store: Store) -> None:
    a = await ward(store)
    await admit(store, a, "B1", "Ada Lovelace")
    w = await write(store, move(a, "B1", a, "B3"))
    assert w.also == () and w.seq == 2 and w.event is not None
    assert w.event["kind"] == "patient.transferred" and w.event["bed"] == "B1"
    assert w.event["also"]["B3"]["patient"]["name"] == "Ada Lovelace"
    assert w.event["also"]["B3"]["version"] == 2 and w.event["changes"]["version"] == 2
    after = await beds(store, a)
    assert after["B1"]["patient"] is None and after["B3"]["patient"]["name"] == "Ada Lovelace"
    assert await moves_audited(store, a) == [("patient.transferred_out", "B1"), ("patient.transferred_in", "B3")]
    assert (await store.verify_audit())[2] is None


async def test_a_swap_exchanges_two_patients(store: Store) -> None:
    a, b = await ward(store), await ward(store)
    await admit(store, a, "B1", "Ada Lovelace")
    await admit(store, a, "B2", "Mary Seacole")
    await admit(store, b, "B1", "Alan Turing")
    w = await write(store, move(a, "B1", a, "B2", swap=True))
    assert w.event is not None and w.event["kind"] == "patient.swapped"
    assert w.event["changes"] == {
        "patient": w.event["changes"]["patient"],
        "updated_at": w.event["at"],
        "version": w.seq,
    }
    after = await beds(store, a)
    assert (after["B1"]["patient"]["name"], after["B2"]["patient"]["name"]) == ("Mary Seacole", "Ada Lovelace")
    across = await write(store, WriteRequest(a, "B2", Move(b, "B1", True), FEED))
    assert across.event is not None and across.event["with"] == {"ward": b, "bed": "B1"}
    assert (await beds(store, b))["B1"]["patient"]["name"] == "Ada Lovelace"
    assert (await beds(store, a))["B2"]["patient"]["name"] == "Alan Turing"
    records = await store.audit(ward=b)
    assert records[0]["action"] == "patient.swapped" and records[0]["source"] == "feed:hl7"


async def note(store: Store, ward_id: str, bed: str, text: str) -> None:
    await write(store, WriteRequest(ward_id, bed, parse_patch({"notes": text}), NURSE))


async def audited(store: Store, ward_id: str, action: str) -> dict[str, Any]:
    return next(r for r in await store.audit(ward=ward_id) if r["action"] == action)


async def test_notes_go_with_the_patient_and_come_back_when_the_transfer_is_cancelled(store: Store) -> None:
    """Hazard H60: the bed left never shows its last patient's notes to the next; nothing is lost (the audit)."""
    a, b = await ward(store), await ward(store)
    await admit(store, a, "B1", "Ada Lovelace")
    await note(store, a, "B1", "Daughter calling at 3, for CT head")
    await note(store, b, "B2", "Held for AMU transfer")
    w = await write(store, move(a, "B1", b, "B2"))
    assert w.event is not None and w.event["changes"]["notes"] == ""
    assert w.also[0].event is not None and w.also[0].event["changes"]["notes"] == "Daughter calling at 3, for CT head"
    assert (await beds(store, a))["B1"]["notes"] == ""
    assert (await beds(store, b))["B2"]["notes"] == "Daughter calling at 3, for CT head"
    out, into = await audited(store, a, "patient.transferred_out"), await audited(store, b, "patient.transferred_in")
    assert out["before"]["notes"] == "Daughter calling at 3, for CT head" and out["after"]["notes"] == ""
    assert into["before"]["notes"] == "Held for AMU transfer"  # the empty bed's own note, replaced
    # HL7 A12: the transfer is cancelled, the patient goes back to the bed they left (still cleaning), notes too
    back = await write(store, WriteRequest(b, "B2", Move(a, "B1", returning=True), FEED))
    assert back.event is not None and back.event["changes"]["notes"] == ""
    assert (await beds(store, a))["B1"]["notes"] == "Daughter calling at 3, for CT head"
    assert (await beds(store, b))["B2"]["notes"] == ""
    within = await write(store, move(a, "B1", a, "B3"))
    assert within.event is not None and within.event["changes"]["notes"] == ""
    assert within.event["also"]["B3"]["notes"] == "Daughter calling at 3, for CT head"
    after = await beds(store, a)
    assert (after["B1"]["notes"], after["B3"]["notes"]) == ("", "Daughter calling at 3, for CT head")
    assert (await store.verify_audit())[2] is None


async def test_a_swap_swaps_the_notes(store: Store) -> None:
    a, b = await ward(store), await ward(store)
    await admit(store, a, "B1", "Ada Lovelace")
    await admit(store, a, "B2", "Mary Seacole")
    await admit(store, b, "B1", "Alan Turing")
    await note(store, a, "B1", "Ada: nil by mouth")
    await note(store, a, "B2", "Mary: deaf in the left ear")
    w = await write(store, move(a, "B1", a, "B2", swap=True))
    assert w.event is not None and w.event["changes"]["notes"] == "Mary: deaf in the left ear"
    assert w.event["also"]["B2"]["notes"] == "Ada: nil by mouth"
    after = await beds(store, a)
    assert (after["B1"]["notes"], after["B2"]["notes"]) == ("Mary: deaf in the left ear", "Ada: nil by mouth")
    await write(store, WriteRequest(a, "B2", Move(b, "B1", True), FEED))  # across wards: Alan has none
    assert ((await beds(store, a))["B2"]["notes"], (await beds(store, b))["B1"]["notes"]) == ("", "Ada: nil by mouth")
    swapped = await audited(store, b, "patient.swapped")
    assert (swapped["before"]["notes"], swapped["after"]["notes"]) == ("", "Ada: nil by mouth")


def snapshot_of(*states: dict[str, dict[str, Any]]) -> list[Any]:
    return [{k: (v["status"], v["notes"], v["patient"], v["version"]) for k, v in s.items()} for s in states]


@pytest.mark.parametrize(
    ("setup", "request_of", "error", "code"),
    [
        ("occupied", lambda a, b: move(a, "B1", b, "B2"), Conflict, "bed_occupied"),
        ("cleaning", lambda a, b: move(a, "B1", b, "B3"), Conflict, "bed_not_ready"),
        ("none", lambda a, b: move(a, "B1", b, "B9"), NotFound, "not_found"),
        ("none", lambda a, b: move(a, "B1", "ward-nowhere", "B1"), NotFound, "not_found"),
        ("none", lambda a, b: move(a, "B2", b, "B1"), DomainError, "no_patient"),
        ("none", lambda a, b: move(a, "B1", b, "B1", swap=True), DomainError, "no_patient"),
        ("none", lambda a, b: move(a, "B1", b, "B1", if_match_seq=0), PreconditionFailed, "precondition_failed"),
        ("occupied", lambda a, b: move(a, "B1", b, "B1", to_version=0), PreconditionFailed, "precondition_failed"),
    ],
)
async def test_a_refused_move_changes_nothing_on_either_ward(
    store: Store, setup: str, request_of: Any, error: type[ApiError], code: str
) -> None:
    a, b = await ward(store), await ward(store)
    await admit(store, a, "B1", "Ada Lovelace")
    await note(store, a, "B1", "Ada: daughter calling at 3")
    if setup == "occupied":
        await admit(store, b, "B2", "Alan Turing")
        await write(store, WriteRequest(b, "B1", parse_patch({"notes": "window seat"}), NURSE))
    if setup == "cleaning":
        await write(store, WriteRequest(b, "B3", parse_patch({"status": "cleaning"}), NURSE))
    before = snapshot_of(await beds(store, a), await beds(store, b))
    audit_before = len(await store.audit())
    outbox_before = len(await store.pending_outbox())
    with pytest.raises(error) as refused:
        await write(store, request_of(a, b))
    assert refused.value.code == code
    assert snapshot_of(await beds(store, a), await beds(store, b)) == before
    assert len(await store.audit()) == audit_before and len(await store.pending_outbox()) == outbox_before


async def test_two_transfers_racing_for_one_bed_one_wins(store: Store) -> None:
    a, b = await ward(store), await ward(store)
    await admit(store, a, "B1", "Ada Lovelace")
    await admit(store, a, "B2", "Mary Seacole")
    results = await asyncio.gather(
        store.apply_batch([move(a, "B1", b, "B1")]), store.apply_batch([move(a, "B2", b, "B1")])
    )
    outcomes = [r[0] for r in results]
    assert sum(isinstance(o, Written) for o in outcomes) == 1
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    names = [p["patient"]["name"] for p in (await beds(store, a)).values() if p["patient"]]
    assert len(names) == 1 and (await beds(store, b))["B1"]["patient"]["name"] not in names


def test_the_body_of_a_move_is_checked_before_the_database() -> None:
    assert parse_move({"to_bed": "B2"}, "w", "B1", swap=False) == Move("w", "B2")
    assert parse_move({"to_ward": "x", "to_bed": "B1", "to_version": 3}, "w", "B1", swap=True) == Move(
        "x", "B1", True, 3
    )
    bad = [({"to_bed": "B1"}, "to_bed"), ({}, "to_bed"), ({"to_bed": 2}, "to_bed"), ({"to_bed": "B2", "x": 1}, "x"),
           ({"to_bed": "B2", "to_version": -1}, "to_version")]  # fmt: skip
    for body, field in bad:
        with pytest.raises(DomainError) as refused:
            parse_move(body, "w", "B1", swap=False)
        assert refused.value.field == field, body
