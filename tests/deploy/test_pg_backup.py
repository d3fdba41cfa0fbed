"""deploy/README.md's PostgreSQL backup and restore, run as written against the test server: `pg_dump
--format=custom` of a live database, `pg_restore --no-owner` into an empty one, and the restored database opens
with the same wards, beds and audit trail, its chains intact."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.engine import make_url

from tests.support import SETUP, write_one
from whiteboard.domain.beds import parse_patch
from whiteboard.store import Actor, WriteRequest, migrate, open_store

if TYPE_CHECKING:
    from tests.conftest import PostgresDatabases

NURSE = Actor(name="RN Backup", role="nurse", credential_id="c1", source="phone")
WARD = "ward-pg-backup"
README = Path(__file__).resolve().parents[2] / "deploy" / "README.md"


def _libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _seed(url: str) -> None:
    await migrate.upgrade(url)
    store = open_store(url)
    await store.connect()
    try:
        await store.add_wards([(WARD, "Ward PG Backup", [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP)
        patient = {"name": "Ada Okoro", "nhs_number": "9434765919"}
        await write_one(store, WriteRequest(WARD, "B1", parse_patch({"patient": patient}), NURSE))
        await write_one(store, WriteRequest(WARD, "B2", parse_patch({"status": "cleaning"}), NURSE))
    finally:
        await store.aclose()


async def _contents(url: str) -> tuple[Any, list[Any], tuple[int, int, str | None]]:
    store = open_store(url)
    await store.connect()
    try:
        state = await store.load_ward(WARD)
        assert state is not None
        return state.beds, await store.audit(ward=WARD), await store.verify_audit()
    finally:
        await store.aclose()


def test_pg_dump_and_pg_restore_as_the_readme_says(pg_databases: PostgresDatabases, tmp_path: Path) -> None:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is not installed: scripts/services installs Debian's postgresql-client with PostgreSQL"
            )
    readme = README.read_text()
    assert "pg_dump --format=custom" in readme and "pg_restore --no-owner" in readme
    source, target = pg_databases.new(), pg_databases.new()
    asyncio.run(_seed(source))
    dump = tmp_path / "whiteboard.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", _libpq(source)], check=True, timeout=120)
    restore = ["pg_restore", "--no-owner", f"--dbname={_libpq(target)}", str(dump)]
    subprocess.run(restore, check=True, timeout=120)
    beds, records, verified = asyncio.run(_contents(target))
    assert (beds, records) == asyncio.run(_contents(source))[:2]
    by_id = {b["id"]: b for b in beds}
    assert by_id["B1"]["patient"]["nhs_number"] == "9434765919" and by_id["B2"]["status"] == "cleaning"
    assert verified[2] is None and verified[0] >= len(records)
