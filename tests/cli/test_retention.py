"""`whiteboard retention purge [--dry-run] [--days N]`: needs a period, counts on a dry run, purges for real, and
says so in numbers (never a name)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import orjson
from click.testing import CliRunner
from sqlalchemy import Connection, select, update

from tests.support import SETUP, free_port, write_one
from whiteboard.cli import main
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.clock import iso, utc_now
from whiteboard.eventlog import open_event_log
from whiteboard.store import Actor, WriteRequest, migrate, open_store
from whiteboard.store.models import AUDIT

NURSE = Actor(name="RN CLI", role="nurse", credential_id="c1", source="phone")


async def _discharged_long_ago(url: str) -> None:
    """A patient admitted and discharged, the records then moved 40 days back (which their hashes notice:
    this test is about the command, tests/store/test_retention.py about a purge that keeps the chains)."""
    await migrate.upgrade(url)
    store = open_store(url)
    await store.connect()
    try:
        await store.add_wards([("w1", "Ward 1", [("B1", "Bay 1")])], actor=SETUP)
        await write_one(store, WriteRequest("w1", "B1", parse_patch({"patient": {"name": "Ada Okoro"}}), NURSE))
        await write_one(store, WriteRequest("w1", "B1", parse_patch({"status": "cleaning", "patient": None}), NURSE))

        def age(conn: Connection) -> None:
            for rid, at in conn.execute(select(AUDIT.c.id, AUDIT.c.at)).all():
                conn.execute(update(AUDIT).where(AUDIT.c.id == rid).values(at=at - dt.timedelta(days=40)))

        await store.write(age)
    finally:
        await store.aclose()


def test_retention_purge_needs_a_period_then_counts_and_purges(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wb.db'}"
    asyncio.run(_discharged_long_ago(url))
    runner = CliRunner()
    none = runner.invoke(main, ["retention", "purge", "--database-url", url], env={"WHITEBOARD_RETENTION_DAYS": ""})
    assert none.exit_code == 2 and "WHITEBOARD_RETENTION_DAYS" in none.stderr
    dry = runner.invoke(main, ["retention", "purge", "--dry-run", "--days", "30", "--database-url", url])
    assert dry.exit_code == 0 and dry.stdout.startswith("would purge: 1 patients discharged over 30 days ago; 2 audit")
    env = {"WHITEBOARD_RETENTION_DAYS": "30"}
    done = runner.invoke(main, ["retention", "purge", "--database-url", url], env=env)
    assert done.exit_code == 0 and done.stdout.startswith("purged: 1 patients") and "Okoro" not in done.output
    again = runner.invoke(main, ["retention", "purge", "--database-url", url], env=env)
    assert again.stdout.startswith("purged: 0 patients")
    recent = runner.invoke(main, ["retention", "purge", "--dry-run", "--days", "60", "--database-url", url])
    assert recent.stdout.startswith("would purge: 0 patients")


async def _log_with_old_and_new_events(url: str, redis_url: str, prefix: str) -> str:
    """Ward w1's Redis log: three events stamped 40 days ago, two stamped now (as the write path stamps `at`)."""
    store = open_store(url)
    await store.connect()
    try:
        [log] = [w.log for w in await store.list_wards() if w.id == "w1"]
    finally:
        await store.aclose()
    eventlog = open_event_log(redis_url, key_prefix=prefix)
    await eventlog.connect()
    try:
        for seq in range(1, 6):
            at = utc_now() - dt.timedelta(days=40 if seq <= 3 else 0)
            event = {"kind": "bed.updated", "changes": {"patient": {"name": "Ada Okoro"}}, "at": iso(at)}
            await eventlog.append(log, seq, orjson.dumps(event))
    finally:
        await eventlog.aclose()
    return log


async def _seqs(redis_url: str, prefix: str, log: str) -> list[int]:
    eventlog = open_event_log(redis_url, key_prefix=prefix)
    await eventlog.connect()
    try:
        return [e.seq for e in (await eventlog.read(log, 0, 100))[1]]
    finally:
        await eventlog.aclose()


def test_retention_purge_trims_the_redis_event_log(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    url = f"sqlite:///{tmp_path / 'wb.db'}"
    asyncio.run(_discharged_long_ago(url))
    log = asyncio.run(_log_with_old_and_new_events(url, redis_url, redis_prefix))
    runner = CliRunner()
    args = ["retention", "purge", "--days", "30", "--database-url", url, "--redis-url", redis_url,
            "--redis-key-prefix", redis_prefix]  # fmt: skip
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "event log: would drop 3 entries written before" in dry.stdout and "from 1 ward logs" in dry.stdout
    assert asyncio.run(_seqs(redis_url, redis_prefix, log)) == [1, 2, 3, 4, 5]
    done = runner.invoke(main, args)
    assert done.exit_code == 0 and "event log: dropped 3 entries" in done.stdout and "Okoro" not in done.output
    assert asyncio.run(_seqs(redis_url, redis_prefix, log)) == [4, 5]
    again = runner.invoke(main, args)
    assert "event log: dropped 0 entries" in again.stdout
    memory = runner.invoke(main, args[:6], env={"WHITEBOARD_REDIS_URL": ""})
    assert memory.exit_code == 0 and "event log: in-process" in memory.stdout


def test_retention_purge_says_when_redis_does_not_answer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wb.db'}"
    asyncio.run(_discharged_long_ago(url))
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(
        main, ["retention", "purge", "--days", "30", "--database-url", url, "--redis-url", nobody]
    )
    assert result.exit_code == 2 and result.stdout.startswith("purged: 1 patients")
    assert "was not trimmed" in result.stderr and "run the command again" in result.stderr
