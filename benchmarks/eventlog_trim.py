"""How long retention's trim of the Redis event log takes (`EventLog.trim_before`, `live/retention.py`).

Fills N ward logs of M events each, stamped a minute apart (written straight into the streams, as the append
script lays them out), then times a pass over every ward: with nothing older than the cut-off (the usual hourly
run: one read per ward), a dry run with the cut-off half-way (the binary search), and the trim itself (search +
XTRIM MINID). Its keys (a unique prefix) are deleted afterwards.

    .venv/bin/python benchmarks/eventlog_trim.py --redis-url redis://127.0.0.1:6379/0 --wards 200 --events 1000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
import uuid
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from whiteboard.domain.clock import iso  # noqa: E402
from whiteboard.domain.offsets import log_name  # noqa: E402
from whiteboard.eventlog.redis import RedisEventLog  # noqa: E402

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


async def trim_all(elog: RedisEventLog, logs: list[str], cutoff: dt.datetime, dry_run: bool) -> tuple[float, int]:
    t0 = time.perf_counter()
    total = 0
    for log in logs:
        total += await elog.trim_before(log, cutoff, dry_run=dry_run)
    return time.perf_counter() - t0, total


async def run(url: str, wards: int, events: int) -> None:
    prefix = f"wbbench-{uuid.uuid4().hex[:8]}"
    elog = RedisEventLog(url, key_prefix=prefix, maxlen=events * 2)
    await elog.connect()
    logs = [log_name(f"w{w:04d}", uuid.uuid4().hex) for w in range(wards)]
    try:
        for log in logs:
            stream, meta = elog.keys(log)
            async with elog.redis.pipeline(transaction=False) as pipe:
                pipe.hset(meta, mapping={"epoch": "bench", "top": events})
                for seq in range(1, events + 1):
                    at = iso(T0 + dt.timedelta(minutes=seq))
                    payload = orjson.dumps({"kind": "bed.updated", "changes": {"notes": "x" * 80}, "at": at})
                    pipe.xadd(stream, {"e": "bench", "d": payload}, id=f"{seq}-0")
                await pipe.execute()
        quiet, n = await trim_all(elog, logs, T0, dry_run=False)
        print(f"{wards} wards x {events} events: nothing due: {quiet:.3f} s ({quiet / wards * 1e3:.2f} ms/ward), {n}")
        half = T0 + dt.timedelta(minutes=events // 2, seconds=30)
        dry, n = await trim_all(elog, logs, half, dry_run=True)
        print(f"dry run, half due: {dry:.3f} s ({dry / wards * 1e3:.2f} ms/ward), {n} entries counted")
        took, n = await trim_all(elog, logs, half, dry_run=False)
        print(f"trim, half due: {took:.3f} s ({took / wards * 1e3:.2f} ms/ward), {n} entries dropped")
    finally:
        for log in logs:
            await elog.redis.delete(*elog.keys(log))
        await elog.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--wards", type=int, default=200)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(run(args.redis_url, args.wards, args.events))


if __name__ == "__main__":
    main()
