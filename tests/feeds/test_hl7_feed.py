"""ADT messages end to end on the real write path (SQLite and PostgreSQL): what each event does to the board,
its ACK, duplicates, cancels, wrong patients and unknown locations (nothing half-applied, nothing guessed)."""

from __future__ import annotations

import datetime as dt

import hl7  # type: ignore[import-untyped]
import pytest

from whiteboard.feeds.compose import Person, adt
from whiteboard.feeds.hl7_feed import Hl7Feed
from whiteboard.feeds.locations import LocationMap
from whiteboard.metrics import Metrics
from whiteboard.store import Store
from whiteboard.types import JSONDict

from .conftest import ZONE

ADA = Person("Lovelace", "Ada", "9434765919", "19451210", "F")
MARY = Person("Seacole", "Mary", "4010232137", "19500123", "F")


def msa(ack: str) -> tuple[str, str, str]:
    m = hl7.parse(ack)
    return str(m.segment("MSA")[1]), str(m.segment("MSA")[2]), str(m.segment("MSA")[3])


async def bed(store: Store, ward: str, bed_id: str) -> JSONDict:
    state = await store.load_ward(ward)
    assert state is not None
    return next(b for b in state.beds if b["id"] == bed_id)


async def audit_sources(store: Store, ward: str) -> list[tuple[str, str]]:
    records = await store.audit(ward=ward)
    return [(r["action"], r["source"]) for r in records]


async def test_admit_update_discharge(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    [ack] = await feed.handle(adt("A01", "M1", ADA, f"{w}^BAY1^B1", consultant="C1^HOPPER^GRACE^^^DR").encode())
    assert msa(ack)[:2] == ("AA", "M1")
    b = await bed(store, w, "B1")
    assert b["status"] == "occupied"
    assert b["patient"]["name"] == "Ada Lovelace" and b["patient"]["nhs_number"] == "9434765919"
    assert b["patient"]["date_of_birth"] == "1945-12-10" and b["patient"]["consultant"] == "Dr Grace Hopper"
    renamed = Person("Byron", "Ada", "9434765919", "19451210", "F")  # a name corrected by the PAS (A08)
    [ack] = await feed.handle(adt("A08", "M2", renamed, f"{w}^BAY1^B1").encode())
    assert msa(ack)[0] == "AA"
    assert (await bed(store, w, "B1"))["patient"]["name"] == "Ada Byron"
    [ack] = await feed.handle(adt("A03", "M3", ADA, f"{w}^BAY1^B1").encode())
    assert msa(ack)[0] == "AA"
    b = await bed(store, w, "B1")
    assert b["patient"] is None and b["status"] == "cleaning"
    sources = await audit_sources(store, w)
    assert ("patient.admitted", "feed:hl7") in sources and ("patient.discharged", "feed:hl7") in sources


async def test_resend_is_applied_once_and_gets_the_same_ack(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    w = wards[0]
    message = adt("A01", "DUP1", ADA, f"{w}^^B2").encode()
    first = await feed.handle(message)
    seq = (await store.load_ward(w)).seq  # type: ignore[union-attr]
    again = await feed.handle(message)
    assert again == first and msa(first[0])[0] == "AA"
    assert (await store.load_ward(w)).seq == seq  # type: ignore[union-attr]  # nothing written the second time
    # The same control id from another facility is another message.
    [other] = await feed.handle(adt("A01", "DUP1", MARY, f"{w}^^B3", facility="OTHER").encode())
    assert msa(other)[0] == "AA" and (await bed(store, w, "B3"))["patient"]["name"] == "Mary Seacole"


async def test_discharge_of_someone_else_changes_nothing(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    await feed.handle(adt("A01", "W1", ADA, f"{w}^^B1").encode())
    before = await bed(store, w, "B1")
    [ack] = await feed.handle(adt("A03", "W2", MARY, f"{w}^^B1").encode())
    code, control, reason = msa(ack)
    assert (code, control) == ("AE", "W2") and "not the one named" in reason
    assert hl7.parse(ack).segment("ERR")  # the reason in ERR too
    assert await bed(store, w, "B1") == before
    # Refused, so not kept: once the right message comes, it applies.
    [ack] = await feed.handle(adt("A03", "W3", ADA, f"{w}^^B1").encode())
    assert msa(ack)[0] == "AA"


async def test_duplicate_admit_of_another_patient_to_an_occupied_bed_is_refused(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    w = wards[0]
    await feed.handle(adt("A01", "D1", ADA, f"{w}^^B1").encode())
    [ack] = await feed.handle(adt("A01", "D2", MARY, f"{w}^^B1").encode())
    assert msa(ack)[0] == "AE" and "patient_identity_change" in msa(ack)[2]
    assert (await bed(store, w, "B1"))["patient"]["name"] == "Ada Lovelace"
    # The same patient admitted again (a PAS resend with a new control id) is no second patient.
    [ack] = await feed.handle(adt("A01", "D3", ADA, f"{w}^^B1").encode())
    assert msa(ack)[0] == "AA" and (await bed(store, w, "B1"))["patient"]["name"] == "Ada Lovelace"


async def test_an_admission_of_a_patient_already_in_another_bed_is_refused(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    a, b = wards
    await feed.handle(adt("A01", "Q1", ADA, f"{a}^^B1").encode())
    seqs = [(await store.load_ward(w)).seq for w in wards]  # type: ignore[union-attr]
    [ack] = await feed.handle(adt("A01", "Q2", ADA, f"{b}^^B2").encode())
    assert msa(ack)[0] == "AE" and "already_admitted" in msa(ack)[2] and f"B1 of {a}" in msa(ack)[2]
    assert [(await store.load_ward(w)).seq for w in wards] == seqs  # type: ignore[union-attr]
    [ack] = await feed.handle(adt("A02", "Q3", ADA, f"{b}^^B2", prior=f"{a}^^B1").encode())  # the right way
    assert msa(ack)[0] == "AA"


async def test_cancels(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    await feed.handle(adt("A01", "C1", ADA, f"{w}^^B1").encode())
    [ack] = await feed.handle(adt("A11", "C2", ADA, f"{w}^^B1").encode())  # cancel admit: as if never here
    assert msa(ack)[0] == "AA"
    b = await bed(store, w, "B1")
    assert b["patient"] is None and b["status"] == "empty"
    await feed.handle(adt("A01", "C3", MARY, f"{w}^^B2").encode())
    await feed.handle(adt("A03", "C4", MARY, f"{w}^^B2").encode())
    [ack] = await feed.handle(adt("A13", "C5", MARY, f"{w}^^B2").encode())  # cancel discharge: back in bed
    assert msa(ack)[0] == "AA"
    b = await bed(store, w, "B2")
    assert b["status"] == "occupied" and b["patient"]["name"] == "Mary Seacole"


async def test_a_cancel_before_its_event_is_kept_and_the_late_event_refused(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    w = wards[0]
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    before = await store.load_ward(w)
    [ack] = await feed.handle(adt("A03", "O1", ADA, f"{w}^^B3", at=t0).encode())  # a discharge before its admit
    assert msa(ack)[0] == "AE" and "no patient" in msa(ack)[2]
    # The PAS admitted at 09:05 and cancelled at 09:10; the cancel arrives first.
    [ack] = await feed.handle(adt("A11", "O2", ADA, f"{w}^^B3", at=t0 + dt.timedelta(minutes=10)).encode())
    assert msa(ack)[0] == "AA"  # accepted: nothing to undo yet, kept
    [ack] = await feed.handle(adt("A01", "O3", ADA, f"{w}^^B3", at=t0 + dt.timedelta(minutes=5)).encode())
    assert msa(ack)[0] == "AE" and "cancelled_earlier" in msa(ack)[2] and "O2" in msa(ack)[2]
    assert (await store.load_ward(w)).seq == before.seq  # type: ignore[union-attr]
    # A new admission after the cancel is a new event: it applies.
    [ack] = await feed.handle(adt("A01", "O4", ADA, f"{w}^^B3", at=t0 + dt.timedelta(minutes=30)).encode())
    assert msa(ack)[0] == "AA" and (await bed(store, w, "B3"))["patient"] is not None


async def test_a_cancelled_discharge_or_transfer_arriving_first(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    a, b = wards
    t0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    later = t0 + dt.timedelta(minutes=10)
    await feed.handle(adt("A01", "P1", ADA, f"{a}^^B1", at=t0).encode())
    # A13 (cancel discharge) before its A03: the patient is still in bed, so nothing changes and the A03 is refused.
    [ack] = await feed.handle(adt("A13", "P2", ADA, f"{a}^^B1", at=later).encode())
    assert msa(ack)[0] == "AA"
    [ack] = await feed.handle(adt("A03", "P3", ADA, f"{a}^^B1", at=t0 + dt.timedelta(minutes=5)).encode())
    assert msa(ack)[0] == "AE" and "cancelled_earlier" in msa(ack)[2]
    assert (await bed(store, a, "B1"))["patient"]["name"] == "Ada Lovelace"
    # A12 (cancel transfer B1 → ward b B2) before its A02.
    [ack] = await feed.handle(adt("A12", "P4", ADA, f"{a}^^B1", prior=f"{b}^^B2", at=later).encode())
    assert msa(ack)[0] == "AA"
    [ack] = await feed.handle(adt("A02", "P5", ADA, f"{b}^^B2", prior=f"{a}^^B1", at=t0).encode())
    assert msa(ack)[0] == "AE" and "cancelled_earlier" in msa(ack)[2]
    assert (await bed(store, a, "B1"))["patient"] is not None and (await bed(store, b, "B2"))["patient"] is None


async def test_leave_of_absence_and_bed_status(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    await feed.handle(adt("A01", "L1", ADA, f"{w}^^B1").encode())
    [ack] = await feed.handle(adt("A21", "L2", ADA, f"{w}^^B1").encode())
    assert msa(ack)[0] == "AA" and "on_leave" in (await bed(store, w, "B1"))["patient"]["flags"]
    [ack] = await feed.handle(adt("A22", "L3", ADA, f"{w}^^B1").encode())
    assert msa(ack)[0] == "AA" and "on_leave" not in (await bed(store, w, "B1"))["patient"]["flags"]
    for code, status in (("C", "closed"), ("U", "empty"), ("H", "cleaning"), ("K", "blocked")):
        [ack] = await feed.handle(adt("A20", f"S{code}", None, npu=(f"{w}^^B4", code)).encode())
        assert msa(ack)[0] == "AA", ack
        assert (await bed(store, w, "B4"))["status"] == status
    [ack] = await feed.handle(adt("A20", "SI", None, npu=(f"{w}^^B1", "I")).encode())
    assert msa(ack)[0] == "AA" and "isolation" in (await bed(store, w, "B1"))["patient"]["flags"]
    [ack] = await feed.handle(adt("A20", "SX", None, npu=(f"{w}^^B4", "Q")).encode())
    assert msa(ack)[0] == "AE" and "0116" in msa(ack)[2]


async def test_unknown_locations_are_reported_not_guessed(ingest: object, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    mapped = Hl7Feed(ingest, LocationMap.from_json({"wards": {"AMU": w}}), ZONE)  # type: ignore[arg-type]
    [ack] = await mapped.handle(adt("A01", "U1", ADA, "AMU^BAY1^B2").encode())
    assert msa(ack)[0] == "AA" and (await bed(store, w, "B2"))["patient"] is not None
    [ack] = await mapped.handle(adt("A01", "U2", MARY, f"{w}^^B3").encode())  # the board's id, not the map's
    assert msa(ack)[0] == "AE" and "not in the location map" in msa(ack)[2]
    [ack] = await mapped.handle(adt("A01", "U3", MARY, "AMU^BAY1^B99").encode())  # no such bed
    assert msa(ack)[0] == "AE" and "B99" in msa(ack)[2]
    assert (await bed(store, w, "B3"))["patient"] is None


@pytest.mark.parametrize(
    ("accept", "app", "codes"),
    [("AL", "AL", ["CA", "AA"]), ("AL", "NE", ["CA"]), ("NE", "AL", ["AA"]), ("ER", "ER", []), ("SU", "ER", ["CA"])],
)
async def test_enhanced_acknowledgement_modes(
    feed: Hl7Feed, wards: tuple[str, str], accept: str, app: str, codes: list[str]
) -> None:
    w = wards[0]
    answers = await feed.handle(adt("A01", "E1", ADA, f"{w}^^B1", accept_ack=accept, app_ack=app).encode())
    assert [msa(a)[0] for a in answers] == codes


async def test_enhanced_mode_error_acks(feed: Hl7Feed, wards: tuple[str, str]) -> None:
    w = wards[0]
    answers = await feed.handle(adt("A03", "E2", ADA, f"{w}^^B1", accept_ack="ER", app_ack="AL").encode())
    assert [msa(a)[0] for a in answers] == ["AE"]  # accepted (no CA asked on success), then the error
    answers = await feed.handle(adt("A99", "E3", ADA, f"{w}^^B1", accept_ack="AL", app_ack="AL").encode())
    assert [msa(a)[0] for a in answers] == ["CR"]  # unsupported: refused at once


async def test_unreadable_and_unsupported_messages(feed: Hl7Feed, wards: tuple[str, str]) -> None:
    [ack] = await feed.handle(b"this is not HL7")
    assert msa(ack)[0] == "AR"
    [ack] = await feed.handle(adt("A01", "V1", ADA, f"{wards[0]}^^B1", version="3.0").encode())
    assert msa(ack)[0] == "AR" and "version" in msa(ack)[2]
    [ack] = await feed.handle(adt("A01", "V2", Person("X", "Y", "1234567890"), f"{wards[0]}^^B1").encode())
    assert msa(ack)[0] == "AE" and "nhs_number" in msa(ack)[2]  # fails its check digit: nothing admitted


async def test_messages_are_counted_by_event_and_ack(
    feed: Hl7Feed, feed_metrics: Metrics, wards: tuple[str, str]
) -> None:
    await feed.handle(adt("A01", "K1", ADA, f"{wards[0]}^^B1").encode())
    await feed.handle(adt("A03", "K2", MARY, f"{wards[0]}^^B1").encode())
    await feed.handle(adt("A99", "K3", MARY, f"{wards[0]}^^B1").encode())
    await feed.handle(b"garbage")

    def count(event: str, ack: str) -> float:
        value = feed_metrics.registry.get_sample_value("whiteboard_hl7_messages_total", {"event": event, "ack": ack})
        return float(value or 0)

    assert (count("A01", "AA"), count("A03", "AE"), count("other", "AR")) == (1, 1, 2)


async def test_transfer_across_wards_and_its_cancel(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    a, b = wards
    await feed.handle(adt("A01", "T1", ADA, f"{a}^^B1").encode())
    [ack] = await feed.handle(adt("A02", "T2", ADA, f"{b}^^B3", prior=f"{a}^^B1").encode())
    assert msa(ack)[0] == "AA"
    assert (await bed(store, a, "B1"))["patient"] is None and (await bed(store, a, "B1"))["status"] == "cleaning"
    assert (await bed(store, b, "B3"))["patient"]["name"] == "Ada Lovelace"
    assert ("patient.transferred_in", "feed:hl7") in await audit_sources(store, b)
    # A12: PV1-3 is where the patient returns to, PV1-6 where the cancelled transfer put them.
    [ack] = await feed.handle(adt("A12", "T3", ADA, f"{a}^^B1", prior=f"{b}^^B3").encode())
    assert msa(ack)[0] == "AA", msa(ack)
    assert (await bed(store, a, "B1"))["patient"]["name"] == "Ada Lovelace"
    assert (await bed(store, b, "B3"))["patient"] is None


async def test_transfer_of_someone_else_or_to_a_taken_bed_changes_nothing(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    a, b = wards
    await feed.handle(adt("A01", "X1", ADA, f"{a}^^B1").encode())
    await feed.handle(adt("A01", "X2", MARY, f"{b}^^B2").encode())
    seqs = [(await store.load_ward(w)).seq for w in wards]  # type: ignore[union-attr]
    [ack] = await feed.handle(adt("A02", "X3", MARY, f"{b}^^B4", prior=f"{a}^^B1").encode())  # Ada is on B1
    assert msa(ack)[0] == "AE" and "not the one named" in msa(ack)[2]
    [ack] = await feed.handle(adt("A02", "X4", ADA, f"{b}^^B2", prior=f"{a}^^B1").encode())  # B2 is Mary's
    assert msa(ack)[0] == "AE" and "bed_occupied" in msa(ack)[2]
    assert [(await store.load_ward(w)).seq for w in wards] == seqs  # type: ignore[union-attr]


async def test_swap(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    a = wards[0]
    await feed.handle(adt("A01", "W1", ADA, f"{a}^^B1").encode())
    await feed.handle(adt("A01", "W2", MARY, f"{a}^^B2").encode())
    [ack] = await feed.handle(adt("A17", "W3", ADA, f"{a}^^B1", second=(MARY, f"{a}^^B2")).encode())
    assert msa(ack)[0] == "AA"
    assert (await bed(store, a, "B1"))["patient"]["name"] == "Mary Seacole"
    assert (await bed(store, a, "B2"))["patient"]["name"] == "Ada Lovelace"
    # The same pair named the wrong way round (the board has already swapped them): refused, nothing moves.
    [ack] = await feed.handle(adt("A17", "W4", ADA, f"{a}^^B1", second=(MARY, f"{a}^^B2")).encode())
    assert msa(ack)[0] == "AE"
    assert (await bed(store, a, "B1"))["patient"]["name"] == "Mary Seacole"


async def test_a_feed_update_keeps_what_nurses_wrote(
    feed: Hl7Feed, ingest: object, store: Store, wards: tuple[str, str]
) -> None:
    from whiteboard.domain.beds import parse_patch
    from whiteboard.live.ingest import Ingest
    from whiteboard.store import Actor, WriteRequest

    assert isinstance(ingest, Ingest)
    w = wards[0]
    await feed.handle(adt("A01", "N1", ADA, f"{w}^^B1").encode())
    nurse = Actor("RN Test", "nurse", source="phone")
    body = {"notes": "Family at 14:00", "patient": {"flags": ["falls", "dnacpr"], "named_nurse": "RN Test"}}
    await ingest.submit(WriteRequest(w, "B1", parse_patch(body), nurse))
    await feed.handle(adt("A08", "N2", ADA, f"{w}^^B1", consultant="C9^OKAFOR^NGOZI^^^DR").encode())
    await feed.handle(adt("A21", "N3", ADA, f"{w}^^B1").encode())
    b = await bed(store, w, "B1")
    assert b["notes"] == "Family at 14:00" and b["patient"]["named_nurse"] == "RN Test"
    assert b["patient"]["flags"] == ["falls", "dnacpr", "on_leave"] and b["patient"]["consultant"] == "Dr Ngozi Okafor"


async def test_a_transfer_takes_the_nurses_notes_and_a_discharge_clears_them(
    feed: Hl7Feed, ingest: object, store: Store, wards: tuple[str, str]
) -> None:
    """Hazard H60 over the feed: A02 moves the notes with the patient, A12 brings them back, A03 clears them, so
    the next patient admitted to the bed never sees them."""
    from whiteboard.domain.beds import parse_patch
    from whiteboard.live.ingest import Ingest
    from whiteboard.store import Actor, WriteRequest

    assert isinstance(ingest, Ingest)
    a, b = wards
    note = "Ada: daughter calling at 3, for CT head"
    await feed.handle(adt("A01", "H1", ADA, f"{a}^^B1").encode())
    await ingest.submit(WriteRequest(a, "B1", parse_patch({"notes": note}), Actor("RN Test", "nurse", source="phone")))
    [ack] = await feed.handle(adt("A02", "H2", ADA, f"{b}^^B2", prior=f"{a}^^B1").encode())
    assert msa(ack)[0] == "AA"
    assert (await bed(store, a, "B1"))["notes"] == "" and (await bed(store, b, "B2"))["notes"] == note
    [ack] = await feed.handle(adt("A12", "H3", ADA, f"{a}^^B1", prior=f"{b}^^B2").encode())
    assert msa(ack)[0] == "AA"
    assert (await bed(store, a, "B1"))["notes"] == note and (await bed(store, b, "B2"))["notes"] == ""
    [ack] = await feed.handle(adt("A03", "H4", ADA, f"{a}^^B1").encode())
    assert msa(ack)[0] == "AA"
    assert (await bed(store, a, "B1"))["notes"] == ""
    [ack] = await feed.handle(adt("A01", "H5", MARY, f"{a}^^B1").encode())  # the next patient in the bed
    b1 = await bed(store, a, "B1")
    assert msa(ack)[0] == "AA" and b1["patient"]["name"] == "Mary Seacole" and b1["notes"] == ""
    [discharged] = [r for r in await store.audit(ward=a) if r["action"] == "patient.discharged"]
    assert discharged["before"]["notes"] == note and discharged["source"] == "feed:hl7"


async def test_two_instances_given_the_same_message_apply_it_once(
    feed: Hl7Feed, store: Store, elog: object, wards: tuple[str, str]
) -> None:
    """Two servers behind one address (or a PAS that failed over) each get the resend at the same moment."""
    import asyncio

    from whiteboard.eventlog import EventLog
    from whiteboard.live.ingest import Ingest
    from whiteboard.metrics import Metrics
    from whiteboard.settings import Settings
    from whiteboard.store import open_store

    assert isinstance(elog, EventLog)
    w = wards[0]
    other_store = open_store(store.url)
    await other_store.connect()
    other = Ingest(other_store, elog, Metrics(), Settings(outbox_sweep_secs=0.05))
    await other.start()
    try:
        second = Hl7Feed(other, LocationMap(), ZONE)
        await feed.handle(adt("A01", "R0", ADA, f"{w}^^B1").encode())
        seq = (await store.load_ward(w)).seq  # type: ignore[union-attr]
        message = adt("A03", "R1", ADA, f"{w}^^B1").encode()
        answers = await asyncio.gather(*(f.handle(message) for f in (feed, second, feed, second)))
    finally:
        await other.aclose()
        await other_store.aclose()
    assert all(a == answers[0] for a in answers) and msa(answers[0][0])[0] == "AA"
    assert (await store.load_ward(w)).seq == seq + 1  # type: ignore[union-attr]  # one discharge


async def test_a_day_of_sample_messages_with_a_location_map(
    ingest: object, store: Store, wards: tuple[str, str]
) -> None:
    """tests/feeds/messages: synthetic messages as a PAS sends them (v2.3 to 2.5.1, CRLF, the PAS's own codes)."""
    import json
    import re
    from pathlib import Path

    here = Path(__file__).parent / "messages"
    amu, ccu = wards
    mapping = json.loads((here / "locations.json").read_text().replace("{AMU}", amu).replace("{CCU}", ccu))
    pas = Hl7Feed(ingest, LocationMap.from_json(mapping), ZONE)  # type: ignore[arg-type]
    text = (here / "day-on-amu.hl7").read_text().replace("\r\n", "\r")
    messages = re.split(r"\r?\n(?=MSH\|)", text)
    assert len(messages) == 6
    for message in messages:
        [ack] = await pas.handle(message.encode())
        assert msa(ack)[0] in ("AA", "CA"), ack  # the second asks for an accept ACK only (MSH-15 AL, 16 NE)
    b3, b4 = await bed(store, amu, "B3"), await bed(store, amu, "B4")
    assert b3["status"] == "empty" and b3["patient"] is None  # transferred out, cleaned (A20 U)
    assert b4["patient"]["name"] == "Katarzyna Nowak" and b4["patient"]["consultant"] == "Dr Chinedu Okonkwo"
    assert b4["patient"]["admitted_at"].startswith("2026-12-01T08:25:00")
    ccu_b2 = await bed(store, ccu, "B2")
    assert ccu_b2["status"] == "cleaning" and ccu_b2["patient"] is None  # transferred in, then discharged
    sources = await audit_sources(store, ccu)
    assert ("patient.transferred_in", "feed:hl7") in sources and ("patient.discharged", "feed:hl7") in sources
