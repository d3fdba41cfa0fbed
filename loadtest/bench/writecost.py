"""The fixed CPU cost of one write, per server thread: N authenticated PATCHes at a low rate, no subscribers.

    .venv/bin/python -m loadtest.bench.writecost --writes 1000 --rate 100 --rounds 3
    .venv/bin/python -m loadtest.bench.writecost --targets embedded,embedded@/work/base --rounds 5

At 100 writes/s nothing is batched, so what a write costs the server is its fixed cost: what the fan-out
bench's "CPU per delivered message" is made of at 20 subscribers per ward (docs/PERFORMANCE.md, "Where the
rest of the time goes"). Per round and target, a fresh server pinned to core 0 (`fanout.start`; this process on
core 1), a warm-up of `--warmup` PATCHes (every ward's channel loaded), then `--writes` PATCHes at `--rate`,
round-robin over wards and beds, each answered 200 or the run fails. CPU from psutil per thread (`/proc`):
the event loop's thread (the process's first), every other thread together (SQLite's writer, the thread pool),
user and system; also the client-side latency of the 200. Targets are interleaved round by round, so an A/B
between two code trees (`KIND@TREE`, see `fanout.split_target`) shares the machine's noise; the report gives
each figure's median over rounds and its ratio to the first target's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psutil  # type: ignore[import-untyped]

from loadtest.bench import fanout, rawclient
from loadtest.bench.fanout import CLIENT_CORE, Server, pin, save_report, start
from loadtest.run import log

Times = dict[int, tuple[float, float]]  # thread id → (user, system) CPU seconds


def thread_times(pid: int) -> Times:
    """Thread id → (user, system) CPU seconds."""
    return {t.id: (t.user_time, t.system_time) for t in psutil.Process(pid).threads()}


def per_thread(
    before: dict[int, tuple[float, float]], after: dict[int, tuple[float, float]], pid: int, n: int
) -> dict[str, float]:
    """CPU ms per write: the loop thread (tid == pid) and the others, user and system each."""
    out = {"loop_user": 0.0, "loop_sys": 0.0, "other_user": 0.0, "other_sys": 0.0}
    for tid, (user, system) in after.items():
        u0, s0 = before.get(tid, (0.0, 0.0))
        side = "loop" if tid == pid else "other"
        out[f"{side}_user"] += user - u0
        out[f"{side}_sys"] += system - s0
    ms = {k: v / n * 1000 for k, v in out.items()}
    ms["loop"] = ms["loop_user"] + ms["loop_sys"]
    ms["other"] = ms["other_user"] + ms["other_sys"]
    ms["total"] = ms["loop"] + ms["other"]
    return {k: round(v, 4) for k, v in ms.items()}


async def patches(server: Server, n: int, rate: float, first: int, latency: list[float] | None) -> None:
    http = server.url.replace("ws://", "http://")
    async with rawclient.Writer(http, server.writer_token, connections=8) as client:

        async def one(i: int) -> None:
            ward = server.wards[i % len(server.wards)]
            t = time.perf_counter()
            status = await client.patch(f"/api/wards/{ward}/beds/B{i % 20 + 1:02d}", orjson.dumps({"notes": f"m{i}"}))
            if status != 200:
                raise RuntimeError(f"PATCH answered {status}")
            if latency is not None:
                latency.append((time.perf_counter() - t) * 1000)

        t0 = time.perf_counter()
        pending = []
        for k in range(n):
            await asyncio.sleep(max(0.0, t0 + k / rate - time.perf_counter()))
            pending.append(asyncio.create_task(one(first + k)))
        await asyncio.gather(*pending)


async def measure(target: str, args: argparse.Namespace, spied: bool) -> dict[str, Any]:
    server = start(target, args.wards, 24)
    try:
        pid = server.proc.pid
        await patches(server, args.warmup, args.rate, 0, None)
        await asyncio.sleep(0.5)
        latency: list[float] = []
        name = "writecost-" + target.replace("@", "-at-").replace("/", "_")
        spying = (
            fanout.profile(args.py_spy, pid, args.writes / args.rate, name, rate=500, threads=True) if spied else None
        )
        before, t0 = thread_times(pid), time.perf_counter()
        await patches(server, args.writes, args.rate, args.warmup, latency)
        after, elapsed = thread_times(pid), time.perf_counter() - t0
        if spying is not None:
            spying.wait(60)
        latency.sort()
        row: dict[str, Any] = {"target": target, "elapsed_s": round(elapsed, 2), "threads": len(after)}
        row |= per_thread(before, after, pid, args.writes)
        row["p50_ms"] = round(latency[len(latency) // 2], 3)
        row["p99_ms"] = round(latency[int(len(latency) * 0.99)], 3)
        return row
    finally:
        server.close()


def table(rows: list[dict[str, Any]], targets: list[str]) -> list[str]:
    keys = ["total", "loop", "loop_user", "loop_sys", "other", "other_user", "other_sys", "p50_ms", "p99_ms"]
    med = {t: {k: statistics.median(r[k] for r in rows if r["target"] == t) for k in keys} for t in targets}
    lines = [
        "| CPU ms per write (median) | " + " | ".join(targets) + " |",
        "| --- |" + " ---: |" * len(targets),
    ]
    for k in keys:
        base = med[targets[0]][k]
        cells = [
            f"{med[t][k]:.3f}" + (f" ({med[t][k] / base:.2f}×)" if i and base else "") for i, t in enumerate(targets)
        ]
        lines.append(f"| {k.replace('_ms', ' (client, ms)')} | " + " | ".join(cells) + " |")
    return lines


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    targets = args.targets.split(",")
    rows = []
    for r in range(args.rounds):
        for target in targets if r % 2 == 0 else reversed(targets):  # ABBA: neither goes first every time
            log(f"round {r + 1}/{args.rounds}: {target}, {args.writes} PATCHes at {args.rate:g}/s")
            rows.append(await measure(target, args, bool(args.py_spy) and r == 0))
            log(json.dumps(rows[-1]))
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "params": vars(args),
        "runs": rows,
        "table": table(rows, targets),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m loadtest.bench.writecost", description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default="embedded", help="comma-separated: embedded, redis+postgresql, KIND@TREE")
    ap.add_argument("--writes", type=int, default=1000, help="measured PATCHes per round and target")
    ap.add_argument("--warmup", type=int, default=200, help="PATCHes before measuring (not counted)")
    ap.add_argument("--rate", type=float, default=100.0, help="PATCHes per second")
    ap.add_argument("--wards", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--py-spy", help="path to py-spy: profile each target's first round (all threads; LOADTEST_PY_SPY_GIL=1: --gil)"
    )
    ap.add_argument("--out", type=Path, help="JSON results (default loadtest/reports/writecost-<stamp>.json)")
    args = ap.parse_args(argv)
    pin(CLIENT_CORE)
    save_report(asyncio.run(bench(args)), args.out, "writecost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
