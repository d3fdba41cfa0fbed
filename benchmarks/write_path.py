"""CPU cost of one durable, audited bed update: our write path against a naive ORM-per-request baseline.

Both variants write the same rows (bed, audit, outbox, ward sequence) in a transaction per write on
the same database, in the same run, so the ratio holds on a noisy machine even when the absolute
figures move. CPU is process time (all threads), not wall time.

    .venv/bin/python benchmarks/write_path.py --writes 2000            # SQLite (the default)
    .venv/bin/python benchmarks/write_path.py --database-url postgresql://postgres@127.0.0.1/wb_bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from whiteboard.domain.beds import apply_patch, parse_patch
from whiteboard.domain.clock import utc_now
from whiteboard.eventlog import open_event_log
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Actor, Store, WriteRequest, audit, migrate, normalise_url, open_store
from whiteboard.store.models import AuditRecord, Bed, Outbox, Ward

SETUP = Actor("test setup", "admin", source="test")  # who the audit names for fixtures

NURSE = Actor("RN Bench", "nurse", "bench")
BEDS = 24


def body(i: int) -> dict[str, Any]:
    return {"notes": f"note {i}", "patient": {"news2": {"score": i % 8, "red_score": False}}}


async def setup(store: Store) -> str:
    ward = "bench-" + uuid.uuid4().hex[:6]
    await store.add_wards([(ward, ward, [(f"B{i}", "Bay") for i in range(BEDS)])], actor=SETUP)
    await store.apply_batch(
        [WriteRequest(ward, f"B{i}", parse_patch({"patient": {"name": f"Bench {i}"}}), NURSE) for i in range(BEDS)]
    )
    return ward


async def ours(store: Store, writes: int, concurrency: int) -> tuple[float, float]:
    """(CPU ms per write, writes per second) through Ingest: parse, group commit, append to the log."""
    ward = await setup(store)
    log = open_event_log("memory://")
    await log.connect()
    ingest = Ingest(store, log, Metrics(), Settings(outbox_sweep_secs=0.2))
    await ingest.start()
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            patch = parse_patch(body(i))
            await ingest.submit(WriteRequest(ward, f"B{i % BEDS}", patch, NURSE))

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(writes)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await ingest.aclose()
    return cpu / writes * 1000, writes / wall


def naive(url: str, ward: str, writes: int) -> tuple[float, float]:
    """The quick version: an ORM session per request that loads objects and adds new ones."""
    engine = create_engine(
        normalise_url(url).replace("+asyncpg", "+psycopg") if "postgresql" in url else normalise_url(url)
    )
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(writes):
        with Session(engine) as session, session.begin():
            w = session.get(Ward, ward, with_for_update=True)
            assert w is not None
            b = session.get(Bed, (ward, f"B{i % BEDS}"))
            assert b is not None
            patch = parse_patch(body(i))
            change = apply_patch({"status": b.status, "notes": b.notes, "patient": b.patient}, patch, utc_now())
            if change is None:
                continue
            w.seq += 1
            b.status, b.notes, b.patient, b.updated_at = change.status, change.notes, change.patient, utc_now()
            event = {"kind": change.kind, "ward": ward, "bed": b.id, "changes": change.changes}
            session.add(Outbox(ward_id=ward, seq=w.seq, log="x", payload=orjson.dumps(event), created_at=utc_now()))
            record = {
                "at": utc_now(), "actor": "RN Bench", "credential_id": None, "role": "nurse",
                "source": "api", "action": change.kind, "ward_id": ward, "bed_id": b.id, "seq": w.seq,
                "before": change.before, "after": change.changes, "request_id": None, "chain": ward,
                "pos": w.audit_pos + 1, "prev_hash": w.audit_head,
            }  # fmt: skip
            record["hash"] = audit.record_hash(record)
            session.add(AuditRecord(**record))
            w.audit_pos, w.audit_head = record["pos"], record["hash"]
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    with Session(engine) as session:
        assert session.scalar(select(Ward.seq).where(Ward.id == ward))
    engine.dispose()
    return cpu / writes * 1000, writes / wall


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="repeat and report the median")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
    await migrate.upgrade(url)
    store = open_store(url)
    await store.connect()
    results: dict[str, list[tuple[float, float]]] = {
        "ours, 1 at a time": [],
        "ours, 64 concurrent": [],
        "naive ORM per request": [],
    }
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds} …", flush=True)
        results["ours, 1 at a time"].append(await ours(store, args.writes, 1))
        results["ours, 64 concurrent"].append(await ours(store, args.writes, 64))
        if url.startswith("sqlite"):
            ward = await setup(store)
            results["naive ORM per request"].append(naive(url, ward, args.writes // 4))
    await store.aclose()
    print(f"\n{args.writes} writes per round, {args.rounds} rounds, database {store.name}; medians:")
    print(f"{'variant':28} {'CPU ms/write':>13} {'writes/s':>10}")
    base = (
        statistics.median(c for c, _ in results["naive ORM per request"]) if results["naive ORM per request"] else None
    )
    for name, rows in results.items():
        if not rows:
            continue
        cpu = statistics.median(c for c, _ in rows)
        rate = statistics.median(t for _, t in rows)
        ratio = f"  ({base / cpu:.1f}× less CPU than naive)" if base and name != "naive ORM per request" else ""
        print(f"{name:28} {cpu:13.3f} {rate:10.0f}{ratio}")


if __name__ == "__main__":
    asyncio.run(main())
