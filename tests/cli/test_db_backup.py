"""`whiteboard db backup FILE`: an online copy of the SQLite database, taken while a real server writes to it;
the copy opens on its own and holds the same data, its audit chains intact."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.server import ServerProcess
from whiteboard.cli import main

WARD = "ward-backup"
TABLES = ("wards", "beds", "audit", "credentials")


def _rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_backup_of_a_running_server_opens_with_the_same_data(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    s = make_server()
    s.cli("ward", "add", WARD, "--beds", "3")
    s.start()
    nurse = s.token("nurse", WARD)
    with s.client(nurse) as c:
        for bed in ("B01", "B02"):
            assert c.patch(f"/api/wards/{WARD}/beds/{bed}", json={"status": "cleaning"}).status_code == 200
    copy = tmp_path / "backup" / "wb-copy.db"
    copy.parent.mkdir()
    done = s.cli("db", "backup", str(copy))  # while the server runs, its WAL holding the newest writes
    assert "backed up" in done.stderr
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert not list(copy.parent.glob("*-wal"))  # one self-contained file
    s.stop()
    original = Path(s.database_url.removeprefix("sqlite:///"))
    assert _rows(copy) == _rows(original)
    assert {r[1] for r in _rows(copy)["beds"] if r[0] == WARD} == {"B01", "B02", "B03"}
    # The copy leaving the server is audited, recorded before the copy so that the copy holds its own record.
    assert _backups(copy) == [("db.backup", str(copy.resolve()))]
    # Restored: the copy is a database the CLI (and a server) opens, with its audit chains intact.
    verify = CliRunner().invoke(main, ["audit", "verify", "--database-url", f"sqlite:///{copy}"])
    assert verify.exit_code == 0, verify.output


def _backups(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT action, json_extract(after, '$.target'), actor, ward_id FROM audit"
            " WHERE action LIKE 'db.backup%' ORDER BY id"
        ).fetchall()
    assert all(actor.startswith("cli:") and ward is None for _, _, actor, ward in rows)
    return [(action, target) for action, target, _, _ in rows]


def test_a_failed_backup_is_audited_and_leaves_no_file(tmp_path: Path) -> None:
    db = tmp_path / "wb.db"
    assert CliRunner().invoke(main, ["db", "upgrade", "--database-url", f"sqlite:///{db}"]).exit_code == 0
    target = tmp_path / "no-such-dir" / "copy.db"
    done = CliRunner().invoke(main, ["db", "backup", str(target), "--database-url", f"sqlite:///{db}"])
    assert done.exit_code == 2 and "backup to" in done.stderr and "failed" in done.stderr
    assert not target.parent.exists()
    assert _backups(db) == [("db.backup", str(target.resolve())), ("db.backup_failed", str(target.resolve()))]
    verify = CliRunner().invoke(main, ["audit", "verify", "--database-url", f"sqlite:///{db}"])
    assert verify.exit_code == 0, verify.output


def test_backup_never_overwrites_and_refuses_postgresql_with_the_way(tmp_path: Path) -> None:
    db = tmp_path / "wb.db"
    assert CliRunner().invoke(main, ["db", "upgrade", "--database-url", f"sqlite:///{db}"]).exit_code == 0
    target = tmp_path / "exists.db"
    target.write_text("keep me")
    done = CliRunner().invoke(main, ["db", "backup", str(target), "--database-url", f"sqlite:///{db}"])
    assert done.exit_code == 2 and "never overwrites" in done.stderr and target.read_text() == "keep me"
    assert _backups(db) == []  # refused before anything was copied or recorded
    pg = CliRunner().invoke(main, ["db", "backup", str(tmp_path / "x.db"), "--database-url", "postgresql://u@h/db"])
    assert pg.exit_code == 2 and "pg_dump" in pg.stderr


def test_a_backup_copies_the_schema_as_it_is_and_never_upgrades_it(tmp_path: Path) -> None:
    """The usual reason for a backup is the upgrade that follows it: the copy must be of the old schema."""
    db = tmp_path / "old.db"
    url = f"sqlite:///{db}"
    assert CliRunner().invoke(main, ["db", "upgrade", "--revision", "0007", "--database-url", url]).exit_code == 0
    copy = tmp_path / "copy.db"
    done = CliRunner().invoke(main, ["db", "backup", str(copy), "--database-url", url])
    assert done.exit_code == 0, done.output
    for path in (db, copy):
        current = CliRunner().invoke(main, ["db", "current", "--database-url", f"sqlite:///{path}"])
        assert current.stdout.startswith("current 0007"), current.output
    assert _backups(copy) == [("db.backup", str(copy.resolve()))]
