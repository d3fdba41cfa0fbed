"""The ground truth a fault scenario is judged against, read directly: the database's rows and the Redis log.

Never through the server under test: a server that lies about what it holds must not be able to pass.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis as redis_sync
from sqlalchemy.engine import make_url


@dataclass(frozen=True, slots=True)
class BedRow:
    id: str
    status: str
    notes: str
    version: int


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    bed: str | None
    action: str
    after: dict[str, Any] | None


@dataclass
class WardTruth:
    ward_id: str
    uid: str
    seq: int
    beds: dict[str, BedRow]
    audit: list[AuditRow] = field(default_factory=list)
    outbox: list[int] = field(default_factory=list)  # seqs of outbox rows not yet deleted

    @property
    def log_name(self) -> str:
        return f"{self.ward_id}:{self.uid}"


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    epoch: str
    event: dict[str, Any]


def _json(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    return orjson.loads(value)


_QUERIES = {
    "ward": "SELECT uid, seq FROM wards WHERE id = {p}",
    "beds": "SELECT id, status, notes, seq FROM beds WHERE ward_id = {p}",
    # Read records carry the ward's position too; only changes have an offset of their own.
    "audit": "SELECT seq, bed_id, action, after FROM audit WHERE ward_id = {p} AND seq IS NOT NULL"
    " AND action NOT LIKE 'read.%' ORDER BY id",
    "outbox": "SELECT seq FROM outbox WHERE ward_id = {p} ORDER BY seq",
}


def _build(ward_id: str, rows: dict[str, list[tuple[Any, ...]]]) -> WardTruth:
    [(uid, seq)] = rows["ward"]
    return WardTruth(
        ward_id,
        uid,
        int(seq),
        {r[0]: BedRow(r[0], r[1], r[2], int(r[3])) for r in rows["beds"]},
        [AuditRow(int(r[0]), r[1], r[2], _json(r[3])) for r in rows["audit"]],
        [int(r[0]) for r in rows["outbox"]],
    )


async def _read_postgres(url: str, ward_ids: list[str]) -> dict[str, WardTruth]:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port or 5432, user=u.username or "postgres", database=u.database, timeout=10
    )
    try:
        out = {}
        for ward in ward_ids:
            rows = {k: [tuple(r) for r in await conn.fetch(q.format(p="$1"), ward)] for k, q in _QUERIES.items()}
            out[ward] = _build(ward, rows)
        return out
    finally:
        await conn.close()


def _read_sqlite(url: str, ward_ids: list[str]) -> dict[str, WardTruth]:
    path = make_url(url).database
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return {
            ward: _build(ward, {k: conn.execute(q.format(p="?"), (ward,)).fetchall() for k, q in _QUERIES.items()})
            for ward in ward_ids
        }
    finally:
        conn.close()


def read_database(url: str, ward_ids: list[str]) -> dict[str, WardTruth]:
    """Every ward's committed state, its audit trail and what is left in its outbox."""
    if url.startswith("sqlite"):
        return _read_sqlite(url, ward_ids)
    return asyncio.run(_read_postgres(url, ward_ids))


async def _read_backend(url: str, prefix: str, log_name: str) -> tuple[str | None, list[LogEntry]]:
    from whiteboard.eventlog import open_event_log

    log = open_event_log(url, key_prefix=prefix)
    await log.connect()
    try:
        epoch, entries = await log.read(log_name, 0, 1_000_000)
    finally:
        await log.aclose()
    return epoch, [LogEntry(e.seq, e.epoch, orjson.loads(e.payload)) for e in entries]


def read_redis_log(redis_url: str, prefix: str, log_name: str) -> tuple[str | None, list[LogEntry]]:
    """(the meta hash's epoch, every entry of the ward's stream) straight from Redis.

    A Sentinel or Cluster URL is read through the backend's own `read` (which primary, which slot: the topology
    decides); a plain Redis with raw XRANGE, so the backend's reading is not what judges it."""
    if redis_url.startswith("redis+"):
        return asyncio.run(_read_backend(redis_url, prefix, log_name))
    base = f"{prefix}:{{{log_name}}}"
    client: Any = redis_sync.Redis.from_url(redis_url, socket_timeout=10)
    try:
        epoch = client.hget(base + ":m", "epoch")
        rows = client.xrange(base + ":s")
    finally:
        client.close()
    entries = [
        LogEntry(int(entry_id.split(b"-")[0]), fields[b"e"].decode(), orjson.loads(fields[b"d"]))
        for entry_id, fields in rows
    ]
    return (epoch.decode() if epoch else None), entries
