"""Retention against a SQLite file and a real PostgreSQL database: a discharged patient's identifiers go from the
audit records (which stay, their chains still verifying), the observation history and the feed tables, once the
period is over; a patient still on a bed keeps everything; the purge is audited without naming anyone."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

import orjson
from sqlalchemy import Connection, update
from starlette.testclient import TestClient

from tests.support import SETUP, portal_runner, write_one
from whiteboard.app import create_app
from whiteboard.domain.beds import ReadRecord, parse_patch
from whiteboard.domain.clock import utc_now
from whiteboard.domain.observations import record
from whiteboard.settings import Settings
from whiteboard.store import Actor, Store, WriteRequest
from whiteboard.store.models import AUDIT
from whiteboard.store.retention import ACTION, PurgeReport, apply, plan

NURSE = Actor(name="RN Keep", role="nurse", credential_id="c1", source="phone")
OBS = {"respiration_rate": 22, "spo2": 95, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 95,
       "consciousness": "A", "temperature": 37.0}  # fmt: skip
ADA = {"name": "Ada Lovelace", "nhs_number": "9434765919", "date_of_birth": "1945-12-10"}
MARY = {"name": "Mary Seacole", "date_of_birth": "1950-11-23"}


async def _ward_with_a_discharge(store: Store) -> str:
    w = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(w, w, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP)
    await write_one(store, WriteRequest(w, "B1", parse_patch({"patient": ADA, "notes": "Ada's daughter calls"}), NURSE))
    await write_one(store, WriteRequest(w, "B1", record(OBS, utc_now()), NURSE))
    await write_one(store, WriteRequest(w, "B1", parse_patch({"notes": "son Ben rings at 6"}), NURSE))  # names nobody
    await write_one(store, WriteRequest(w, "B1", parse_patch({"status": "cleaning", "patient": None}), NURSE))
    await write_one(store, WriteRequest(w, "B2", parse_patch({"patient": MARY}), NURSE))
    await write_one(store, WriteRequest(w, "B2", parse_patch({"notes": "likes tea"}), NURSE))
    for query in (
        "name=lovelace",
        "identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C9434765919",
        "name=seacole",
    ):
        read = ReadRecord("read.fhir", {"type": "Patient", "query": query, "count": 1})
        await write_one(store, WriteRequest(w, None, read, NURSE))
    return w


async def _purge_as_if_later(store: Store, *, dry_run: bool = False, limit: int = 200) -> PurgeReport:
    """As if the retention period had passed since every write: 31 days later, with a 30-day period."""
    later = utc_now() + dt.timedelta(days=31)
    return await store.purge_identifiers(30, dry_run=dry_run, now=later, limit=limit)


def _text(records: list[dict[str, object]]) -> str:
    return orjson.dumps([(r["before"], r["after"]) for r in records]).decode()


async def test_purge_removes_a_discharged_patients_identifiers_and_keeps_the_audit_trail(store: Store) -> None:
    w = await _ward_with_a_discharge(store)
    before = await store.audit(ward=w)
    assert "Ada Lovelace" in _text(before) and "9434765919" in _text(before)

    assert (await store.purge_identifiers(30)).patients == 0  # discharged minutes ago: nothing is due yet
    dry = await _purge_as_if_later(store, dry_run=True)
    assert (dry.patients, dry.audit_records, dry.observations) == (1, 6, 1)
    assert len(await store.audit(ward=w)) == len(before)  # a dry run changes nothing

    report = await _purge_as_if_later(store)
    assert (report.patients, report.audit_records, report.observations) == (1, 6, 1)
    after = await store.audit(ward=w)
    assert [r["id"] for r in after[1:]] == [r["id"] for r in before]  # every record kept, one added
    text = _text(after)
    for identifier in ("Ada Lovelace", "lovelace", "9434765919", "1945-12-10", "Ada's daughter calls", "son Ben"):
        assert identifier not in text
    assert "Mary Seacole" in text and "1950-11-23" in text and "name=seacole" in text and "likes tea" in text
    reads = [r for r in after if r["action"] == "read.fhir"]
    assert len(reads) == 3 and [r["after"]["count"] for r in reads] == [1, 1, 1]  # who searched when: kept
    assert await store.patient_observations(nhs_number="9434765919") == []
    assert await store.patient_observations(name="Ada Lovelace", admitted_at=None) == []

    purge_record = after[0]
    assert purge_record["action"] == ACTION and purge_record["actor"] == "system:retention"
    assert purge_record["after"]["patients"] == 1 and len(purge_record["after"]["audit_records"]) == 6
    assert "Ada" not in orjson.dumps(purge_record).decode() and "9434765919" not in orjson.dumps(purge_record).decode()
    assert (await store.verify_audit())[2] is None  # the chains still verify

    again = await _purge_as_if_later(store)
    assert again.patients == 0 and len(await store.audit(ward=w)) == len(after)


async def test_notes_written_before_an_admission_that_kept_them_are_purged_with_the_patient(store: Store) -> None:
    """Hazard H60: notes typed on the empty bed become the admitted patient's; a closed bed's note stays the bed's."""
    w = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(w, w, [("B1", "Bay 1"), ("B2", "Bay 1"), ("B3", "Bay 1")])], actor=SETUP)

    async def put(bed: str, body: dict[str, object]) -> None:
        await write_one(store, WriteRequest(w, bed, parse_patch(body), NURSE))

    await put("B1", {"notes": "Expecting Ada from ED"})
    await put("B1", {"notes": "Expecting Ada Lovelace from ED, NHS 9434765919"})
    await put("B1", {"patient": ADA})  # keeps the notes: they are Ada's now
    await put("B1", {"patient": None})  # and go when she does
    await put("B2", {"status": "closed", "notes": "Closed: oxygen point faulty"})
    await put("B3", {"notes": "Held for AMU transfer"})
    await put("B3", {"patient": MARY, "notes": "Mary: hard of hearing"})  # replaced: the bed's own note
    await put("B3", {"patient": None})
    report = await _purge_as_if_later(store)
    assert report.patients == 2
    text = _text(await store.audit(ward=w))
    for identifier in ("Expecting Ada", "9434765919", "Lovelace", "hard of hearing"):
        assert identifier not in text
    assert "Closed: oxygen point faulty" in text and "Held for AMU transfer" in text
    assert (await store.verify_audit())[2] is None


async def test_a_purged_record_altered_afterwards_is_still_caught(store: Store) -> None:
    w = await _ward_with_a_discharge(store)
    await _purge_as_if_later(store)
    purged = [r for r in await store.audit(ward=w) if "[purged]" in orjson.dumps(r["before"]).decode()]
    assert purged

    def alter(conn: Connection) -> None:
        conn.execute(update(AUDIT).where(AUDIT.c.id == purged[0]["id"]).values(before={"patient": {"name": "Eve"}}))

    await store.write(alter)
    problem = (await store.verify_audit())[2]
    assert problem is not None and f"record {purged[0]['id']}" in problem and "altered" in problem


def test_the_server_purges_by_itself_every_sweep(tmp_path: Path) -> None:
    """WHITEBOARD_RETENTION_DAYS set: the app's own periodic task purges, on its clock (here 31 days ahead)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'wb.db'}", retention_days=30, retention_sweep_secs=0.2)
    app = create_app(settings, clock=lambda: utc_now() + dt.timedelta(days=31))
    with TestClient(app) as client:
        run = portal_runner(client)
        store: Store = app.state.wb.store
        w = run(_ward_with_a_discharge(store))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            records = run(store.audit(ward=w))
            if records[0]["action"] == ACTION:
                break
            time.sleep(0.1)
        assert records[0]["action"] == ACTION and records[0]["after"]["patients"] == 1
        assert "9434765919" not in _text(records) and "Mary Seacole" in _text(records)
        assert run(store.verify_audit())[2] is None


def test_retention_is_off_unless_set() -> None:
    assert Settings().retention_days is None


async def test_a_backlog_is_purged_in_batches(store: Store) -> None:
    """At most `limit` patients a run; the report says how many wait; the next runs take the rest."""
    w = await _ward_with_a_discharge(store)
    for name in ("Grace Hopper", "Edith Cavell"):
        await write_one(
            store, WriteRequest(w, "B1", parse_patch({"status": "occupied", "patient": {"name": name}}), NURSE)
        )
        await write_one(store, WriteRequest(w, "B1", parse_patch({"status": "cleaning", "patient": None}), NURSE))
    assert (await _purge_as_if_later(store, dry_run=True)).patients == 3
    first = await _purge_as_if_later(store, limit=2)
    assert (first.patients, first.remaining) == (2, 1)
    second = await _purge_as_if_later(store, limit=2)
    assert (second.patients, second.remaining) == (1, 0)
    text = _text(await store.audit(ward=w))
    assert not any(n in text for n in ("Ada Lovelace", "Grace Hopper", "Edith Cavell")) and "Mary Seacole" in text
    assert (await store.verify_audit())[2] is None


async def test_a_patient_readmitted_after_the_plan_is_not_purged(store: Store) -> None:
    """Planned by reading, applied by writing: someone back on a bed in between (through any instance) makes the
    run purge nobody, and the next run plans afresh (hazard H48)."""
    w = await _ward_with_a_discharge(store)
    later = utc_now() + dt.timedelta(days=31)
    planned = await store.read(plan, later - dt.timedelta(days=30), 200)
    assert planned.report().patients == 1
    await write_one(
        store, WriteRequest(w, "B1", parse_patch({"admit": True, "status": "occupied", "patient": ADA}), NURSE)
    )
    report = await store.write(apply, planned, later)
    assert (report.patients, report.audit_records, report.remaining) == (0, 0, 1)
    assert "9434765919" in _text(await store.audit(ward=w))
    assert (await _purge_as_if_later(store)).patients == 0  # on a bed now: not due at all
