"""`whiteboard retention purge [--dry-run] [--days N]`: needs a period, counts on a dry run, purges for real, and
says so in numbers (never a name)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Connection, select, update

from tests.support import SETUP, write_one
from whiteboard.cli import main
from whiteboard.domain.beds import parse_patch
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
