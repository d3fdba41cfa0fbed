"""The store suite, run against a SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import orjson
import pytest

from tests.support import SETUP
from whiteboard.domain.beds import DisplayProfile, parse_patch
from whiteboard.domain.clock import utc_now
from whiteboard.errors import DomainError, NotFound, PreconditionFailed
from whiteboard.store import Actor, Store, WriteRequest, Written, migrate, normalise_url

NURSE = Actor(name="RN Test", role="nurse", credential_id="c1", source="api")


async def make_ward(store: Store, beds: int = 4) -> str:
    ward_id = "w-" + uuid.uuid4().hex[:8]
    layout = [(f"B{i}", "Bay 1") for i in range(1, beds + 1)]
    created = await store.add_wards([(ward_id, f"Ward {ward_id}", layout)], actor=SETUP)
    assert created == [ward_id]
    return ward_id


def req(ward: str, bed: str, body: dict[str, object], **kw: object) -> WriteRequest:
    return WriteRequest(ward, bed, parse_patch(body), NURSE, **kw)  # type: ignore[arg-type]


async def one(store: Store, request: WriteRequest) -> Written:
    [result] = await store.apply_batch([request])
    if isinstance(result, Exception):
        raise result
    return result


async def test_migrations_reach_head(database_url: str) -> None:
    await migrate.upgrade(database_url)
    assert await migrate.current(database_url) == migrate.head()
    await migrate.upgrade(database_url)  # idempotent


async def test_concurrent_migrations_do_not_race(database_url: str) -> None:
    """Instances starting together take turns creating the schema."""
    await asyncio.gather(*(migrate.upgrade(database_url) for _ in range(3)))
    assert await migrate.current(database_url) == migrate.head()


async def test_add_and_list_wards(store: Store) -> None:
    ward = await make_ward(store, beds=3)
    again = await store.add_wards([(ward, "other", [])], actor=SETUP)
    assert again == []
    listed = {w.id: w for w in await store.list_wards()}
    assert listed[ward].beds == 3
    state = await store.load_ward(ward)
    assert state is not None
    assert state.seq == 0
    assert [b["id"] for b in state.beds] == ["B1", "B2", "B3"]
    assert all(b["status"] == "empty" and b["patient"] is None for b in state.beds)


async def test_write_commits_bed_audit_and_outbox_together(store: Store) -> None:
    ward = await make_ward(store)
    w = await one(store, req(ward, "B1", {"status": "occupied", "patient": {"name": "Ada Lovelace"}}))
    assert w.seq == 1
    assert w.event is not None and w.event["kind"] == "patient.admitted"
    assert orjson.loads(w.payload or b"") == w.event
    state = await store.load_ward(ward)
    assert state is not None and state.seq == 1
    bed = state.beds[0]
    assert bed["status"] == "occupied"
    assert bed["patient"]["initials"] == "A.L."
    assert bed["updated_at"] is not None
    [row] = await store.outbox_rows(ward, 0, 10)
    assert (row.seq, row.payload) == (1, w.payload)
    audit = await store.audit(ward=ward)
    [rec] = [a for a in audit if a["action"] == "patient.admitted"]
    assert rec["actor"] == "RN Test" and rec["bed"] == "B1" and rec["offset"] == "1-0"
    assert rec["before"] == {"status": "empty", "patient": None}
    assert rec["after"]["status"] == "occupied"


async def test_sequence_numbers_are_per_ward_and_contiguous(store: Store) -> None:
    a, b = await make_ward(store), await make_ward(store)
    seqs_a = [(await one(store, req(a, "B1", {"notes": f"n{i}"}))).seq for i in range(3)]
    seqs_b = [(await one(store, req(b, "B2", {"notes": f"n{i}"}))).seq for i in range(2)]
    assert seqs_a == [1, 2, 3]
    assert seqs_b == [1, 2]


async def test_refused_write_changes_nothing(store: Store) -> None:
    ward = await make_ward(store)
    with pytest.raises(DomainError):
        await one(store, req(ward, "B1", {"status": "closed", "patient": {"name": "X Y"}}))
    with pytest.raises(NotFound):
        await one(store, req(ward, "B99", {"notes": "x"}))
    with pytest.raises(NotFound):
        await one(store, req("no-such-ward", "B1", {"notes": "x"}))
    state = await store.load_ward(ward)
    assert state is not None and state.seq == 0
    assert await store.outbox_rows(ward, 0, 100) == []
    assert [a["action"] for a in await store.audit(ward=ward)] == ["ward.created"]


async def test_batch_refuses_one_and_commits_the_rest(store: Store) -> None:
    """Group commit: a refused request in a batch does not take the others down, nor half-write itself."""
    ward = await make_ward(store)
    results = await store.apply_batch(
        [
            req(ward, "B1", {"notes": "first"}),
            req(ward, "B2", {"status": "occupied"}),  # occupied without a patient: refused
            req(ward, "B1", {"notes": "second"}),
        ]
    )
    assert isinstance(results[0], Written) and results[0].seq == 1
    assert isinstance(results[1], DomainError)
    assert isinstance(results[2], Written) and results[2].seq == 2
    state = await store.load_ward(ward)
    assert state is not None
    assert state.beds[0]["notes"] == "second"
    assert state.beds[1]["status"] == "empty"


async def test_if_match_detects_a_moved_ward(store: Store) -> None:
    ward = await make_ward(store)
    await one(store, req(ward, "B1", {"notes": "a"}))
    with pytest.raises(PreconditionFailed):
        await one(store, req(ward, "B1", {"notes": "b"}, if_match_seq=0))
    ok = await one(store, req(ward, "B1", {"notes": "b"}, if_match_seq=1))
    assert ok.seq == 2


async def test_unchanged_write_takes_no_sequence_number(store: Store) -> None:
    ward = await make_ward(store)
    await one(store, req(ward, "B1", {"notes": "same"}))
    again = await one(store, req(ward, "B1", {"notes": "same"}))
    assert again.event is None and again.seq == 1


async def test_concurrent_writers_get_distinct_sequence_numbers(store: Store) -> None:
    ward = await make_ward(store, beds=8)
    results = await asyncio.gather(*(one(store, req(ward, f"B{i % 8 + 1}", {"notes": f"n{i}"})) for i in range(24)))
    assert sorted(r.seq for r in results) == list(range(1, 25))


async def test_discharge_then_clean_then_admit(store: Store) -> None:
    ward = await make_ward(store)
    await one(store, req(ward, "B1", {"patient": {"name": "Grace Hopper", "nhs_number": "943 476 5919"}}))
    d = await one(store, req(ward, "B1", {"patient": None}))
    assert d.event is not None and d.event["kind"] == "patient.discharged"
    assert d.event["changes"]["status"] == "cleaning"
    await one(store, req(ward, "B1", {"status": "empty"}))
    state = await store.load_ward(ward)
    assert state is not None and state.beds[0]["status"] == "empty" and state.beds[0]["patient"] is None


async def test_display_profile_change_is_an_event(store: Store) -> None:
    ward = await make_ward(store)
    w = await one(store, WriteRequest(ward, None, DisplayProfile(frozenset({"initials"})), NURSE))
    assert w.event is not None and w.event["kind"] == "ward.display_profile"
    state = await store.load_ward(ward)
    assert state is not None and state.display_fields == frozenset({"initials"})


async def test_credentials_are_hashed_and_revocable(store: Store) -> None:
    from whiteboard.store import hash_token

    cred_id, token = await store.create_credential("nurse", ("w1",), "RN Hash", actor=SETUP)
    row = await store.find_credential(hash_token(token))
    assert row is not None and row.role == "nurse" and row.wards == ("w1",) and row.revoked_at is None
    assert await store.find_credential(token) is None  # the token itself is not what is stored
    assert await store.revoke_credential(cred_id, SETUP)
    assert not await store.revoke_credential(cred_id, SETUP)
    row = await store.find_credential(hash_token(token))
    assert row is not None and row.revoked_at is not None


async def test_outbox_delete_up_to_top(store: Store) -> None:
    ward = await make_ward(store)
    for i in range(5):
        await one(store, req(ward, "B1", {"notes": f"n{i}"}))
    assert len(await store.pending_outbox()) >= 5
    assert await store.delete_outbox({ward: 3}) == 3
    assert [r.seq for r in await store.outbox_rows(ward, 0, 100)] == [4, 5]


def test_database_urls_are_normalised() -> None:
    assert normalise_url("postgres://u@h/d").startswith("postgresql+asyncpg://")
    assert normalise_url("sqlite+aiosqlite:///x.db") == "sqlite+pysqlite:///x.db"
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalise_url("mysql://u@h/d")


async def test_audit_chain_detects_edits_and_deletions(store: Store) -> None:
    """Each record carries the hash of the one before; the chain head shows a missing newest record."""
    from sqlalchemy import text

    ward = await make_ward(store)
    for i in range(4):
        await one(store, req(ward, "B1", {"notes": f"n{i}"}))
    records, chains, problem = await store.verify_audit()
    assert problem is None and records >= 5 and chains >= 1
    trail = [a for a in await store.audit(ward=ward)]
    assert trail[0]["prev_hash"] == trail[1]["hash"]  # newest first, each linked to the one before

    async def tamper(sql: str) -> str | None:
        await store.write(lambda conn: conn.execute(text(sql), {"w": ward}))
        return (await store.verify_audit())[2]

    problem = await tamper("UPDATE audit SET after = NULL WHERE chain = :w AND pos = 3")
    assert problem is not None and "altered" in problem

    other = await make_ward(store)
    for i in range(3):
        await one(store, req(other, "B1", {"notes": f"m{i}"}))
    await store.write(lambda conn: conn.execute(text("DELETE FROM audit WHERE chain = :w"), {"w": ward}))
    reset = "UPDATE wards SET audit_pos = 0, audit_head = :g WHERE id = :w"
    await store.write(lambda conn: conn.execute(text(reset), {"w": ward, "g": "0" * 64}))
    # (A chain removed together with its head cannot be told from inside the database; the test resets here.)
    assert (await store.verify_audit())[2] is None
    newest = max(a["id"] for a in await store.audit(ward=other))
    await store.write(lambda conn: conn.execute(text("DELETE FROM audit WHERE id = :i"), {"i": newest}))
    problem = (await store.verify_audit())[2]
    assert problem is not None and "missing" in problem
    await store.write(lambda conn: conn.execute(text("DELETE FROM audit WHERE chain = :w AND pos = 2"), {"w": other}))
    problem = (await store.verify_audit())[2]
    assert problem is not None and "position" in problem


async def test_upgrading_chains_the_records_written_before(database_url: str) -> None:
    """Migration 0002 links audit records that 0001 wrote, so `audit verify` holds for old data too."""
    from sqlalchemy import text

    from whiteboard.store import open_store

    await migrate.upgrade(database_url, "0001")
    old = open_store(database_url)
    await old.connect()
    try:
        await old.write(
            lambda conn: [
                conn.execute(text(sql), bound)
                for sql, params in [
                    ("INSERT INTO wards (id, uid, name, seq, created_at) VALUES ('w0', 'u0', 'W0', 0, :t)", {}),
                    *[
                        (
                            "INSERT INTO audit (at, actor, role, source, action, ward_id, after)"
                            " VALUES (:t, 'old', 'nurse', 'api', 'bed.updated', :w, NULL)",
                            {"w": w},
                        )
                        for w in ("w0", "w0", None)
                    ],
                ]
                for bound in [{**params, "t": utc_now()}]
            ]
        )
    finally:
        await old.aclose()
    await migrate.upgrade(database_url)
    new = open_store(database_url)
    await new.connect()
    try:
        records, chains, problem = await new.verify_audit()
        assert (records, problem) == (3, None) and chains >= 2
        await new.apply_batch([req("w0", "B1", {"notes": "x"})])  # no bed: refused, nothing chained
        assert (await new.verify_audit())[2] is None
    finally:
        await new.aclose()


async def test_each_bed_carries_its_own_version_and_if_match_judges_only_that_bed(store: Store) -> None:
    ward = await make_ward(store)
    first = await one(store, req(ward, "B1", {"notes": "one"}))
    second = await one(store, req(ward, "B2", {"notes": "two"}))
    assert (first.version, second.version) == (1, 2)
    state = await store.load_ward(ward)
    assert state is not None
    assert {b["id"]: b["version"] for b in state.beds} == {"B1": 1, "B2": 2, "B3": 0, "B4": 0}
    # B1 last changed at 1: a client that saw version 1 (or any later ward position) is current for B1.
    assert (await one(store, req(ward, "B1", {"notes": "one again"}, if_match_seq=1))).version == 3
    assert (await one(store, req(ward, "B3", {"notes": "three"}, if_match_seq=0))).version == 4
    nothing = await one(store, req(ward, "B3", {"notes": "three"}, if_match_seq=4))
    assert (nothing.event, nothing.version) == (None, 4)
    for stale in (2, 99):  # B1 changed after 2; 99 is no position the ward ever had
        with pytest.raises(PreconditionFailed):
            await one(store, req(ward, "B1", {"notes": "lost update"}, if_match_seq=stale))
    state = await store.load_ward(ward)
    assert state is not None and state.beds[0]["notes"] == "one again"


async def test_similar_names_travel_with_the_change_that_moves_them(store: Store) -> None:
    ward = await make_ward(store)
    await one(store, req(ward, "B1", {"patient": {"name": "Alice Walker"}}))
    plain = await one(store, req(ward, "B2", {"patient": {"name": "John Smith"}}))
    assert plain.event is not None and "similar_name" not in plain.event
    alike = await one(store, req(ward, "B3", {"patient": {"name": "Arthur Wells"}}))
    assert alike.event is not None and alike.event["similar_name"] == {"B1": True, "B3": True}
    state = await store.load_ward(ward)
    assert state is not None
    assert {b["id"]: b["similar_name"] for b in state.beds} == {"B1": True, "B2": False, "B3": True, "B4": False}
    nurse_only = await one(store, req(ward, "B1", {"patient": {"named_nurse": "RN Ada"}}))
    assert nurse_only.event is not None and "similar_name" not in nurse_only.event
    gone = await one(store, req(ward, "B3", {"patient": None}))
    assert gone.event is not None and gone.event["similar_name"] == {"B1": False, "B3": False}


def _at_0004(conn: object) -> None:
    from sqlalchemy import Connection, text

    assert isinstance(conn, Connection)
    conn.execute(
        text(
            "INSERT INTO wards (id, uid, name, seq, created_at, audit_pos, audit_head) "
            "VALUES ('w', 'u', 'W', 7, CURRENT_TIMESTAMP, 0, :g)"
        ),
        {"g": "0" * 64},
    )
    for bed in ("B1", "B2", "B3"):
        conn.execute(
            text(
                "INSERT INTO beds (ward_id, id, bay, position, status, notes) VALUES ('w', :b, 'Bay', 0, 'empty', '')"
            ),
            {"b": bed},
        )
    rows = [
        ("B1", 2, "bed.updated"),
        ("B1", 5, "bed.updated"),
        ("B2", 3, "patient.admitted"),
        ("B2", 7, "read.snapshot"),
    ]
    for pos, (bed, seq, action) in enumerate(rows, start=1):
        conn.execute(
            text(
                "INSERT INTO audit (at, actor, role, source, action, ward_id, bed_id, seq, chain, pos, prev_hash, hash)"
                " "
                "VALUES (CURRENT_TIMESTAMP, 'a', 'nurse', 'api', :act, 'w', :b, :s, 'w', :p, 'x', 'y')"
            ),
            {"act": action, "b": bed, "s": seq, "p": pos},
        )


def _bed_versions(conn: object) -> dict[str, int]:
    from sqlalchemy import Connection, text

    assert isinstance(conn, Connection)
    return {r[0]: int(r[1]) for r in conn.execute(text("SELECT id, seq FROM beds WHERE ward_id = 'w'")).all()}


async def test_migration_0005_backfills_bed_versions_from_the_audit_trail(database_url: str) -> None:
    """A bed's version after the upgrade is its newest audited change (reads do not count); never changed: 0."""
    await migrate.upgrade(database_url, "0004")
    await migrate.run_sync(database_url, _at_0004)
    await migrate.upgrade(database_url, "0005")
    assert await migrate.run_sync(database_url, _bed_versions) == {"B1": 5, "B2": 3, "B3": 0}


async def test_load_test_results_round_trip_newest_run_first_and_audited(store: Store) -> None:
    """A result comes back as sent (times in UTC whatever offset it was sent with), the latest run first, and
    the audit trail names who recorded it."""
    ops = Actor(name="ops team", role="ops", credential_id="cred-ops", source="api")
    base = {"profile": "trust-day", "monthly_multiple": 104.5, "thresholds_passed": True, "requests": 120000,
            "failures": 0, "p99_ms": 41.5, "report_name": "20261201T090000Z-trust-day"}  # fmt: skip
    older = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 09:00 UTC
    newer = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    saved = await store.record_load_test({**base, "finished_at": newer}, actor=ops)
    await store.record_load_test({**base, "finished_at": older, "profile": "ci", "thresholds_passed": False,
                                  "report_name": None, "failures": 3}, actor=ops)  # fmt: skip
    (latest,) = await store.load_tests(1)
    assert latest == saved
    assert {k: latest[k] for k in (*base, "finished_at", "recorded_by")} == {
        **base, "finished_at": "2026-12-01T09:00:00.000Z", "recorded_by": "ops team"}  # fmt: skip
    both = await store.load_tests(10)
    assert [
        (r["profile"], r["finished_at"], r["thresholds_passed"], r["failures"], r["report_name"]) for r in both
    ] == [
        ("trust-day", "2026-12-01T09:00:00.000Z", True, 0, "20261201T090000Z-trust-day"),
        ("ci", "2026-11-30T09:00:00.000Z", False, 3, None),
    ]
    records = [r for r in await store.audit(limit=10) if r["action"] == "load_test.recorded"]
    assert len(records) == 2
    assert (records[0]["actor"], records[0]["role"], records[0]["credential_id"], records[0]["source"]) == (
        "ops team", "ops", "cred-ops", "api")  # fmt: skip
    assert records[0]["after"]["profile"] == "ci" and records[1]["after"]["id"] == saved["id"]
    assert (await store.verify_audit())[2] is None
