"""How long the retention purge takes, and holds the writer, on a database of N audit records.

Seeds wards whose beds have each admitted and discharged several patients (four audited writes per stay: admit,
notes, observations, discharge), then times: the hourly run with nobody due (the usual case), a dry run, and the
purge itself (a cutoff after every write, so every discharged patient is due). SQLite by default;
--database-url for PostgreSQL.

    .venv/bin/python benchmarks/retention_purge.py --wards 20 --beds 25 --stays 10
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import SETUP  # noqa: E402
from whiteboard.domain.beds import parse_patch  # noqa: E402
from whiteboard.domain.clock import utc_now  # noqa: E402
from whiteboard.domain.observations import record  # noqa: E402
from whiteboard.store import Actor, WriteRequest, migrate, open_store  # noqa: E402
from whiteboard.store.retention import purge  # noqa: E402

NURSE = Actor(name="RN Bench", role="nurse", credential_id="c1", source="bench")
OBS = {"respiration_rate": 18, "spo2": 97, "spo2_scale": 1, "on_oxygen": False, "systolic_bp": 120, "pulse": 80,
       "consciousness": "A", "temperature": 37.0}  # fmt: skip


async def run(url: str, wards: int, beds: int, stays: int) -> None:
    await migrate.upgrade(url)
    store = open_store(url)
    await store.connect()
    try:
        ids = [f"w{w:03d}" for w in range(wards)]
        await store.add_wards([(w, w, [(f"B{b:02d}", "Bay") for b in range(beds)]) for w in ids], actor=SETUP)
        started = time.perf_counter()
        n = 0
        for stay in range(stays):
            for step in ("admit", "notes", "observations", "discharge"):
                batch = []
                for w in ids:
                    for b in range(beds):
                        n += 1
                        body: dict[str, object] = {
                            "admit": {"patient": {"name": f"Patient {w} {b} {stay}", "sex": "F"}},
                            "notes": {"notes": f"stay {stay} of bed {b}"},
                            "discharge": {"status": "empty", "patient": None, "notes": ""},
                        }.get(step, {})
                        patch = record(OBS, utc_now()) if step == "observations" else parse_patch(body)
                        batch.append(WriteRequest(w, f"B{b:02d}", patch, NURSE))
                for i in range(0, len(batch), 64):
                    for result in await store.apply_batch(batch[i : i + 64]):
                        if isinstance(result, Exception):
                            raise result
        print(f"seeded {n} audited writes in {time.perf_counter() - started:.1f} s")
        for label, days_ahead, dry in (("nobody due (the hourly case)", None, False), ("dry run", 1, True),
                                       ("purge", 1, False), ("again, nothing left", 1, False)):  # fmt: skip
            now = utc_now() + dt.timedelta(seconds=days_ahead or 0)
            cutoff = now if days_ahead else now - dt.timedelta(days=30)
            t0 = time.perf_counter()
            fn = store.read if dry else store.write
            report = await fn(purge, cutoff, now, dry)
            took = time.perf_counter() - t0
            print(f"{label:30s} {took:6.2f} s  patients {report.patients:6d}  audit records {report.audit_records:7d}  "
                  f"observation sets {report.observations:6d}")  # fmt: skip
    finally:
        await store.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wards", type=int, default=20)
    ap.add_argument("--beds", type=int, default=25)
    ap.add_argument("--stays", type=int, default=10, help="patients admitted and discharged per bed")
    ap.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        asyncio.run(run(url, args.wards, args.beds, args.stays))


if __name__ == "__main__":
    main()
