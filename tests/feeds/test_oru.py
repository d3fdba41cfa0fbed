"""ORU^R01 vital signs end to end on the real write path (SQLite and PostgreSQL): the server scores NEWS2 from
the OBX readings, charts them on the patient's bed with the history row, ACKs AA after the commit, and refuses
(AE, nothing written) an incomplete set, a reading it cannot chart, someone else on the bed, or an unknown bed."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import hl7  # type: ignore[import-untyped]
import orjson
import pytest

from whiteboard.domain.beds import parse_patch
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import EventLog
from whiteboard.feeds.compose import VITALS, Person, adt, oru
from whiteboard.feeds.hl7_feed import Hl7Feed
from whiteboard.feeds.listener import Limits, MllpListener
from whiteboard.feeds.locations import LocationMap
from whiteboard.feeds.sender import MllpClient
from whiteboard.live.ingest import Ingest
from whiteboard.store import Actor, Store, WriteRequest

from .conftest import ZONE
from .test_hl7_feed import ADA, MARY, bed, msa

# RR 25 (3), SpO2 92 (2), oxygen (2), SBP 95 (2), pulse 120 (2), V (3), 38.5 (1) = 15: high, red score.
ILL = (
    ("NM", "9279-1", "Respiratory rate", "25", "/min"),
    ("NM", "59408-5", "SpO2", "92", "%"),
    ("NM", "3151-8", "Inhaled oxygen flow rate", "2", "L/min"),
    ("NM", "8480-6", "Systolic blood pressure", "95", "mm[Hg]"),
    ("NM", "8867-4", "Heart rate", "120", "/min"),
    ("CWE", "80288-4", "Level of consciousness", "300202002^Responds to voice^SCT", ""),
    ("NM", "8310-5", "Body temperature", "38.5", "Cel"),
)


async def _admitted(feed: Hl7Feed, ward: str, bed_id: str = "B1", who: Person = ADA) -> None:
    [ack] = await feed.handle(adt("A01", f"ADM-{bed_id}", who, f"{ward}^^{bed_id}").encode())
    assert msa(ack)[0] == "AA"


async def test_a_full_set_is_scored_by_the_server_and_charted(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    w = wards[0]
    await _admitted(feed, w)
    [ack] = await feed.handle(oru("OBS1", ADA, f"{w}^^B1", ILL).encode())
    assert msa(ack)[:2] == ("AA", "OBS1")
    news2 = (await bed(store, w, "B1"))["patient"]["news2"]
    assert news2["score"] == 15 and news2["red_score"] is True and news2["risk"] == "high"
    [row] = await store.patient_observations(nhs_number=ADA.nhs_number)
    assert row["source"] == "feed:hl7" and row["values"]["consciousness"] == "V" and row["values"]["on_oxygen"]
    assert row["values"]["temperature"] == 38.5 and row["news2"]["score"] == 15
    charted = [r for r in await store.audit(ward=w) if (r.get("after") or {}).get("patient", {}).get("news2")]
    assert [(r["source"], r["actor"]) for r in charted] == [("feed:hl7", "HL7 OBS@RXH")]


async def test_a_resend_is_charted_once(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    await _admitted(feed, w)
    message = oru("OBS2", ADA, f"{w}^^B1").encode()
    first = await feed.handle(message)
    assert msa(first[0])[0] == "AA"
    assert await feed.handle(message) == first
    assert len(await store.patient_observations(nhs_number=ADA.nhs_number)) == 1


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        (VITALS[:-1], "missing: body temperature"),
        ((*VITALS[:-1], ("NM", "8310-5", "Body temperature", "99.1", "[degF]")), "not '[degF]'"),
        ((*VITALS[:-1], ("NM", "8310-5", "Body temperature", "hot", "Cel")), "not a number"),
        ((*VITALS[:5], ("CWE", "80288-4", "LOC", "Z^Sleepy", ""), VITALS[6]), "one of A C V P U"),
        ((*VITALS, VITALS[0]), "given twice"),
        ((*VITALS[:-1], ("NM", "8310-5", "Body temperature", "12.0", "Cel")), "temperature"),
    ],
)
async def test_a_set_the_board_cannot_chart_is_ae_and_writes_nothing(
    feed: Hl7Feed, store: Store, wards: tuple[str, str], results: tuple[tuple[str, ...], ...], reason: str
) -> None:
    w = wards[0]
    await _admitted(feed, w)
    seq = (await store.load_ward(w)).seq  # type: ignore[union-attr]
    [ack] = await feed.handle(oru("BAD", ADA, f"{w}^^B1", results).encode())  # type: ignore[arg-type]
    code, _control, text = msa(ack)
    assert code == "AE" and reason in text
    err = hl7.parse(ack).segment("ERR")
    assert str(err[3]).startswith("101" if "missing" in reason else "102")  # HL7 table 0357
    assert (await store.load_ward(w)).seq == seq  # type: ignore[union-attr]
    assert await store.patient_observations(nhs_number=ADA.nhs_number) == []


async def test_preliminary_results_are_not_charted(feed: Hl7Feed, store: Store, wards: tuple[str, str]) -> None:
    w = wards[0]
    await _admitted(feed, w)
    [ack] = await feed.handle(oru("PRE", ADA, f"{w}^^B1", status="P").encode())
    assert msa(ack)[0] == "AE" and "only final results" in msa(ack)[2]
    assert (await bed(store, w, "B1"))["patient"].get("news2") is None


async def test_someone_else_on_the_bed_or_an_unknown_bed_changes_nothing(
    feed: Hl7Feed, store: Store, wards: tuple[str, str]
) -> None:
    w = wards[0]
    await _admitted(feed, w)
    [ack] = await feed.handle(oru("WRONG", MARY, f"{w}^^B1").encode())
    assert msa(ack)[0] == "AE" and "wrong_patient" in msa(ack)[2]
    [ack] = await feed.handle(oru("EMPTY", MARY, f"{w}^^B2").encode())
    assert msa(ack)[0] == "AE" and "no_patient" in msa(ack)[2]
    [ack] = await feed.handle(oru("NOWHERE", ADA, "NOWARD^^B1").encode())
    assert msa(ack)[0] == "AE"
    assert (await bed(store, w, "B1"))["patient"].get("news2") is None
    assert await store.patient_observations(nhs_number=ADA.nhs_number) == []


async def test_the_set_is_charted_on_the_scale_the_record_prescribes(
    feed: Hl7Feed, ingest: Ingest, store: Store, wards: tuple[str, str]
) -> None:
    """SpO2 88 on air scores 3 on Scale 1 and 0 on Scale 2: the clinician's decision on the record decides."""
    w = wards[0]
    await _admitted(feed, w)
    low = tuple(r if r[1] != "59408-5" else ("NM", "59408-5", "SpO2", "88", "%") for r in VITALS)
    [ack] = await feed.handle(oru("S1", ADA, f"{w}^^B1", low).encode())
    assert msa(ack)[0] == "AA" and (await bed(store, w, "B1"))["patient"]["news2"]["score"] == 3
    decision = parse_patch({"patient": {"spo2_scale_2": {"decided_by": "Dr Shah"}}})
    await ingest.submit(WriteRequest(w, "B1", decision, Actor("Nurse", "nurse")))
    [ack] = await feed.handle(oru("S2", ADA, f"{w}^^B1", low).encode())
    assert msa(ack)[0] == "AA" and (await bed(store, w, "B1"))["patient"]["news2"]["score"] == 0
    rows = await store.patient_observations(nhs_number=ADA.nhs_number)
    assert [r["values"]["spo2_scale"] for r in rows] == [2, 1]  # newest first


async def test_over_a_real_mllp_connection_the_board_hears_the_score(
    feed: Hl7Feed, elog: EventLog, store: Store, wards: tuple[str, str]
) -> None:
    """Over the listener's socket: admit, then an ORU; the ward's event log carries the charted NEWS2 (what every
    board applies), and the ACK is AA only once it is committed."""
    w = wards[0]
    srv = MllpListener(feed, "127.0.0.1", 0, Limits(max_message_bytes=64 * 1024))
    await srv.start()
    try:
        async with MllpClient("127.0.0.1", srv.port, timeout=10) as c:
            [ack] = await c.send(adt("A01", "SOCK-A", ADA, f"{w}^^B3"))
            assert msa(ack)[0] == "AA"
            [ack] = await c.send(oru("SOCK-O", ADA, f"{w}^^B3", ILL))
            assert msa(ack)[:2] == ("AA", "SOCK-O")
    finally:
        await srv.aclose()
    state = await store.load_ward(w)
    assert state is not None and state.beds[2]["patient"]["news2"]["score"] == 15
    charted: list[dict[str, Any]] = []
    for _ in range(100):  # the relay appends the committed event to the log just after the commit
        _epoch, entries = await elog.read(log_name(w, state.uid), 0, 100)
        events = [orjson.loads(e.payload) for e in entries]
        charted = [e for e in events if (e["changes"].get("patient") or {}).get("news2")]
        if charted:
            break
        await asyncio.sleep(0.05)
    [charted_event] = charted
    assert charted_event["bed"] == "B3" and charted_event["changes"]["patient"]["news2"]["risk"] == "high"


async def test_sample_messages_through_the_location_map(ingest: Ingest, store: Store, wards: tuple[str, str]) -> None:
    """tests/feeds/messages/obs-on-amu.hl7: a monitor's ORU (CRLF, the PAS's ward codes, a diastolic left aside,
    oxygen as FiO2 28 %) for the patient the PAS admitted; RR 21 (2), SpO2 95 (1), oxygen (2), SBP 108 (1),
    pulse 112 (2), alert (0), 38.4 (1) = 9, taken at 09:10."""
    here = Path(__file__).parent / "messages"
    amu, ccu = wards
    mapping = json.loads((here / "locations.json").read_text().replace("{AMU}", amu).replace("{CCU}", ccu))
    monitor = Hl7Feed(ingest, LocationMap.from_json(mapping), ZONE)
    messages = re.split(r"\r?\n(?=MSH\|)", (here / "obs-on-amu.hl7").read_text().strip())
    for message in messages:
        [ack] = await monitor.handle(message.encode())
        assert msa(ack)[0] == "AA", ack
    news2 = (await bed(store, amu, "B4"))["patient"]["news2"]
    assert news2["score"] == 9 and news2["risk"] == "high" and news2["recorded_at"].startswith("2026-12-01T09:10")
