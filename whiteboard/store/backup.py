"""An online backup of a SQLite database with sqlite3's backup API: a consistent copy taken while the server
runs (its writes wait only for the pages being copied), written beside the target and renamed into place, mode
0600 like the database itself. PostgreSQL is backed up with its own tools (pg_dump; deploy/README.md)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Connection

from whiteboard.store import audit
from whiteboard.store.engine import PRIVATE_FILE_MODE
from whiteboard.store.rows import Actor

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default page size: the writer is never held for long


def audit_backup(conn: Connection, actor: Actor, action: str, target: Path, now: dt.datetime, error: str = "") -> None:
    """A copy of every patient's record leaving the server is audited like a change, on the `_system` chain:
    `db.backup` before the copy (so the copy holds its own record), `db.backup_failed` if it then fails."""
    detail = {"target": str(target.resolve())} | ({"error": error[:300]} if error else {})
    audit.append(conn, at=now, **actor.audit_fields(), action=action, after=detail)


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` to `target` (which must not exist); returns the pages copied."""
    if target.exists():
        raise FileExistsError(f"{target} exists; choose a new file name (a backup never overwrites one)")
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    os.close(fd)
    pages = 0

    def progress(_status: int, remaining: int, total: int) -> None:
        nonlocal pages
        pages = total

    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=PAGES_PER_STEP, progress=progress)
            # A single file: the copy is in rollback-journal mode, so it needs no -wal beside it to be complete.
            dst.execute("PRAGMA journal_mode=DELETE")
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy fails SQLite's integrity check: {check}")
        finally:
            dst.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    os.replace(partial, target)
    return pages
