"""A graceful shutdown measured: N WebSockets on instance A, SIGTERM, every client resumes on instance B.

Two `whiteboard serve` processes share the PostgreSQL database and Redis given (an empty database: the
script adds the ward). N clients follow one ward on A; a writer keeps changing it through B; A gets SIGTERM.
Reported, by the clients' clock (a loaded client process shows its own lag too): when the 1012s arrived
(first, median, last, after SIGTERM), when A exited (and its status), how long until every client had
resumed on B, and how many resumed with `recovered: true` and without a missed event. Everything is on
loopback; the clients share the machine with the servers.

    createdb -h 127.0.0.1 -U postgres drainbench
    .venv/bin/python benchmarks/drain.py --clients 1000 --drain-secs 10 \\
        --database-url postgresql://postgres@127.0.0.1/drainbench --redis-url redis://127.0.0.1:6379/0
    dropdb -h 127.0.0.1 -U postgres drainbench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import delete_redis_keys, free_port  # noqa: E402

WARD = "drain"


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "whiteboard", "serve", "--port", str(port)],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on {port} did not start; see {log}")


class Client:
    def __init__(self) -> None:
        self.seq = 0
        self.epoch = ""
        self.closed_at: float | None = None
        self.code: int | None = None
        self.resumed_at: float | None = None
        self.recovered: bool | None = None
        self.missed = 0

    def take(self, msg: dict[str, object]) -> None:
        if msg["type"] == "snapshot":
            self.seq, self.epoch = int(str(msg["offset"]).split("-")[0]), str(msg["epoch"])
        elif msg["type"] == "event":
            seq = int(str(msg["offset"]).split("-")[0])
            self.missed += seq != self.seq + 1
            self.seq = seq

    async def run(self, a: str, b: str, token: str, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with connect(f"{a}/ws/wards/{WARD}", additional_headers=headers, open_timeout=60) as ws:
            try:
                async for raw in ws:
                    self.take(orjson.loads(raw))
            except ConnectionClosed:
                pass
            self.closed_at, self.code = time.monotonic(), ws.close_code
        await asyncio.sleep(0.25 + 0.25 * (hash(id(self)) % 1000) / 1000)  # the page's first backoff: 250-500 ms
        url = f"{b}/ws/wards/{WARD}?since={self.seq}-0&epoch={self.epoch}"
        async with connect(url, additional_headers=headers, open_timeout=60) as ws:
            while not stop.is_set():
                try:
                    msg = orjson.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if msg["type"] == "resumed":
                    self.resumed_at, self.recovered = time.monotonic(), bool(msg["recovered"])
                elif msg["type"] == "snapshot":
                    self.resumed_at, self.recovered = time.monotonic(), False
                self.take(msg)


async def write_forever(base: str, token: str, stop: asyncio.Event) -> int:
    n = 0
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while not stop.is_set():
            n += 1
            r = await c.patch(f"/api/wards/{WARD}/beds/B01", json={"notes": f"n{n}"})
            r.raise_for_status()
            await asyncio.sleep(0.05)
    return n


def ms(x: float) -> str:
    return f"{x * 1000:.0f} ms"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--drain-secs", type=float, default=10.0)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--redis-url", required=True)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wb-drain-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEBOARD_")}
    env.update({
        "WHITEBOARD_DATABASE_URL": args.database_url, "WHITEBOARD_REDIS_URL": args.redis_url,
        "WHITEBOARD_REDIS_KEY_PREFIX": f"drainbench-{os.getpid()}", "WHITEBOARD_ACCESS_LOG": "false",
        "WHITEBOARD_SHUTDOWN_DRAIN_SECS": str(args.drain_secs), "WHITEBOARD_WS_CONNECT_RATE_PER_MIN": "0",
        "WHITEBOARD_WRITE_RATE_PER_MIN": "0",
    })  # fmt: skip
    run = [sys.executable, "-m", "whiteboard"]
    subprocess.run([*run, "ward", "add", WARD, "--beds", "4"], env=env, check=True, capture_output=True)
    minted = [*run, "token", "create", "--role", "nurse", "--ward", WARD]
    token = subprocess.run(minted, env=env, check=True, capture_output=True, text=True).stdout.strip()
    pa, pb = free_port(), free_port()
    a, b = start(env, pa, work / "a.log"), start(env, pb, work / "b.log")
    stop, done = asyncio.Event(), asyncio.Event()
    clients = [Client() for _ in range(args.clients)]
    tasks = [asyncio.create_task(c.run(f"ws://127.0.0.1:{pa}", f"ws://127.0.0.1:{pb}", token, done)) for c in clients]
    while sum(c.epoch != "" for c in clients) < len(clients):
        await asyncio.sleep(0.1)
    writer = asyncio.create_task(write_forever(f"http://127.0.0.1:{pb}", token, stop))
    await asyncio.sleep(1.0)
    sigterm = time.monotonic()
    a.send_signal(signal.SIGTERM)
    status = await asyncio.to_thread(a.wait, 120)
    exited = time.monotonic() - sigterm
    deadline = time.monotonic() + 60
    while any(c.resumed_at is None for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    stop.set()
    writes = await writer
    await asyncio.sleep(1.0)  # the last events reach every client
    done.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    b.send_signal(signal.SIGTERM)
    b.wait(60)
    delete_redis_keys(args.redis_url, env["WHITEBOARD_REDIS_KEY_PREFIX"])
    closes = sorted(c.closed_at - sigterm for c in clients if c.closed_at is not None)
    resumed = sorted(c.resumed_at - sigterm for c in clients if c.resumed_at is not None)
    codes = {str(c.code) for c in clients}
    print(f"clients {args.clients}, drain_secs {args.drain_secs}, writes through B meanwhile {writes}")
    print(f"1012s (codes {sorted(codes)}): first {ms(closes[0])}, median {ms(statistics.median(closes))}, "
          f"last {ms(closes[-1])} after SIGTERM")  # fmt: skip
    print(f"A exited {status} after {ms(exited)}")
    recovered, missed = sum(bool(c.recovered) for c in clients), sum(c.missed > 0 for c in clients)
    print(f"resumed on B: {len(resumed)}, last {ms(resumed[-1])} after SIGTERM; recovered: true {recovered}; "
          f"with a missed event {missed}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
