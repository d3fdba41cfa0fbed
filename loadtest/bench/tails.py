"""What tailing many wards costs one instance: Redis connections, idle CPU and CPU per delivered entry.

    .venv/bin/python -m loadtest.bench.tails --wards 2000 --before-ref main --per-connection 128,2000

Each variant runs in a child process pinned to core 0 that tails every ward the way the hub does
(`async for entry in eventlog.tail(log, 0)`, one task per ward). This process, pinned to core 1, appends
one entry to every ward (and waits until every tail has it), measures an idle phase, then appends at
`--rate` entries/s to random wards for `--duration` seconds. Reported per variant: the child's Redis
connections (its sockets to Redis, cross-checked with CLIENT LIST), its CPU per second while idle and per
delivered entry while written to, append → tail latency, and Redis's own CPU over the write phase.
`--before-ref` loads `whiteboard/eventlog/redis.py` from that git ref (one blocking XREAD per ward),
so before and after run in the same session. Keys go under a fresh prefix, deleted afterwards.

`--topology sentinel` or `--topology cluster` starts a Sentinel group (1 primary + 2 replicas + 3
sentinels) or a three-master Cluster of the bench's own on loopback (tests/redis_topologies.py, stopped
at the end) and runs the same measurement through `redis+sentinel://` / `redis+cluster://`: connections
then count the child's sockets to every data node (and, separately, to the sentinels), Redis CPU sums
every data node.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import redis as redis_sync

from loadtest.orphans import die_with_parent
from tests.redis_topologies import ClusterTopology, SentinelTopology, Topology
from whiteboard.domain.offsets import log_name
from whiteboard.eventlog import EventLog, EventLogUnavailable
from whiteboard.eventlog.redis import STREAMS_PER_CONNECTION, RedisEventLog

SERVER_CORE, CLIENT_CORE = 0, 1


def _pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {core})


def ward_logs(prefix: str, wards: int) -> list[str]:
    return [log_name(f"w{i}", prefix) for i in range(wards)]


# --- the child: one instance's tails ---


def _load_log(impl: str, url: str, prefix: str) -> EventLog:
    if impl.startswith("after:"):
        return RedisEventLog(url, key_prefix=prefix, streams_per_connection=int(impl.split(":", 1)[1]))
    spec = importlib.util.spec_from_file_location("redis_before", impl)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.RedisEventLog(url, key_prefix=prefix)  # type: ignore[no-any-return]


async def child(impl: str, url: str, prefix: str, wards: int) -> None:
    log = _load_log(impl, url, prefix)
    await log.connect()
    delivered = errors = 0
    latencies: list[float] = []
    started: set[str] = set()

    async def follow(name: str) -> None:
        """As the hub's reader: tail from what it has; on EventLogUnavailable back off and tail again."""
        nonlocal delivered, errors
        seq, backoff = 0, 0.1
        while True:
            try:
                async for entry in log.tail(name, seq):
                    seq, backoff = entry.seq, 0.1
                    started.add(name)
                    delivered += 1
                    latencies.append(time.time() - json.loads(entry.payload)["t"])
            except EventLogUnavailable:
                errors += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    tasks = [asyncio.create_task(follow(n)) for n in ward_logs(prefix, wards)]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"pid": os.getpid()}), flush=True)
    while line := (await reader.readline()).decode().strip():
        if line == "started":
            give_up = time.monotonic() + 60
            while len(started) < wards and time.monotonic() < give_up:
                await asyncio.sleep(0.05)
        if line == "reset":
            latencies.clear()
        cpu = psutil.Process().cpu_times()
        lat = sorted(latencies)
        print(
            json.dumps(
                {
                    "cpu": cpu.user + cpu.system,
                    "wall": time.monotonic(),
                    "delivered": delivered,
                    "tail_errors": errors,
                    "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
                    "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None,
                    "rss_mib": psutil.Process().memory_info().rss / 2**20,
                }
            ),
            flush=True,
        )
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await log.aclose()


# --- the driver ---


class Child:
    def __init__(self, impl: str, url: str, prefix: str, wards: int) -> None:
        cmd = [sys.executable, "-m", "loadtest.bench.tails", "--child", impl, "--url", url, "--prefix", prefix]
        self.proc = subprocess.Popen(
            [*cmd, "--wards", str(wards)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent(lambda: _pin(SERVER_CORE)),
        )
        self.pid = int(self.ask(None)["pid"])

    def ask(self, line: str | None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if line is not None:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def redis_sockets(self, ports: set[int]) -> int:
        return sum(1 for c in psutil.Process(self.pid).net_connections("tcp") if c.raddr and c.raddr.port in ports)

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def redis_cpu(admins: list[redis_sync.Redis]) -> float:
    total = 0.0
    for admin in admins:
        info: dict[str, Any] = admin.info("cpu")
        total += float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return total


class Target:
    """Where the bench's Redis is: the --url server, or a topology of its own (data nodes and sentinels)."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.topology: Topology | None = None
        if args.topology == "server":
            self.url = args.url
            admin = redis_sync.Redis.from_url(args.url)
            self.data_ports = {int(admin.connection_pool.connection_kwargs.get("port", 6379))}
            self.sentinel_ports: set[int] = set()
            self.admins = [admin]
            return
        topology: SentinelTopology | ClusterTopology
        if args.topology == "sentinel":
            topology = SentinelTopology(workdir / "sentinel")
            topology.__enter__()
            self.sentinel_ports = {n.port for n in topology.sentinels}
            servers = topology.servers
        else:
            topology = ClusterTopology(workdir / "cluster")
            topology.__enter__()
            self.sentinel_ports = set()
            servers = topology.nodes
        self.topology = topology
        self.url = topology.url()
        self.data_ports = {n.port for n in servers}
        self.admins = [n.client() for n in servers]

    def delete(self, prefix: str) -> None:
        for admin in self.admins:
            if admin.info("replication").get("role") != "master":
                continue
            for key in list(admin.scan_iter(match=f"{prefix}:*", count=1000)):
                admin.delete(key)  # one by one: on a cluster each key may be on its own slot

    def close(self) -> None:
        for admin in self.admins:
            admin.close()
        if self.topology is not None:
            self.topology.stop()


async def append_all(log: RedisEventLog, logs: list[str], tops: dict[str, int]) -> None:
    for name in logs:
        tops[name] = tops.get(name, 0) + 1
        await log.append(name, tops[name], json.dumps({"t": time.time()}).encode())


async def write_phase(log: RedisEventLog, logs: list[str], tops: dict[str, int], rate: float, secs: float) -> int:
    n = int(rate * secs)
    start = time.monotonic()
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        name = random.choice(logs)
        tops[name] += 1
        await log.append(name, tops[name], json.dumps({"t": time.time()}).encode())
    return n


async def run_variant(impl: str, label: str, args: argparse.Namespace, target: Target) -> dict[str, Any]:
    prefix = f"bench-tails-{uuid.uuid4().hex[:8]}"
    logs = ward_logs(prefix, args.wards)
    writer = RedisEventLog(target.url, key_prefix=prefix)
    await writer.connect()
    admins = target.admins
    tops: dict[str, int] = {}
    child_proc = Child(impl, target.url, prefix, args.wards)
    try:
        await append_all(writer, logs, tops)
        base = await asyncio.to_thread(child_proc.ask, "started")
        await asyncio.sleep(1.0)
        idle0 = await asyncio.to_thread(child_proc.ask, "mark")
        sockets = child_proc.redis_sockets(target.data_ports)
        sentinel_sockets = child_proc.redis_sockets(target.sentinel_ports)
        await asyncio.sleep(args.idle)
        idle1 = await asyncio.to_thread(child_proc.ask, "reset")
        r0 = redis_cpu(admins)
        sent = await write_phase(writer, logs, tops, args.rate, args.duration)
        deadline = time.monotonic() + 30
        while True:
            end = await asyncio.to_thread(child_proc.ask, "mark")
            if end["delivered"] - idle1["delivered"] >= sent or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        r1 = redis_cpu(admins)
        got = end["delivered"] - idle1["delivered"]
        return {
            "variant": f"{label} [{args.topology}]",
            "wards": args.wards,
            "redis_connections": sockets,
            "sentinel_connections": sentinel_sockets,
            "idle_cpu_ms_per_s": (idle1["cpu"] - idle0["cpu"]) / (idle1["wall"] - idle0["wall"]) * 1000,
            "appended": sent,
            "delivered": got,
            "cpu_us_per_delivery": (end["cpu"] - idle1["cpu"]) / max(got, 1) * 1e6,
            "p50_ms": end["p50_ms"],
            "p99_ms": end["p99_ms"],
            "redis_cpu_ms_write_phase": (r1 - r0) * 1000,
            "rss_mib": end["rss_mib"],
            "wards_started": base["delivered"],
            "tail_errors": end["tail_errors"],
        }
    finally:
        child_proc.stop()
        await writer.aclose()
        target.delete(prefix)


def before_module(ref: str, into: Path) -> str:
    source = subprocess.run(
        ["git", "show", f"{ref}:whiteboard/eventlog/redis.py"], check=True, capture_output=True, text=True
    ).stdout
    path = into / "redis_before.py"
    path.write_text(source)
    return str(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wards", type=int, default=2000)
    p.add_argument("--rate", type=float, default=100.0, help="appends per second in the write phase")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of writes")
    p.add_argument("--idle", type=float, default=10.0, help="seconds of the idle phase")
    p.add_argument("--url", default=os.environ.get("WHITEBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    p.add_argument(
        "--per-connection",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[STREAMS_PER_CONNECTION],
        help="wards per tail connection, one 'after' run each (comma-separated, e.g. 128,2000)",
    )
    p.add_argument("--before-ref", help="also run whiteboard/eventlog/redis.py from this git ref (e.g. main)")
    p.add_argument(
        "--topology",
        choices=("server", "sentinel", "cluster"),
        default="server",
        help="server: the --url Redis; sentinel / cluster: start one of the bench's own on loopback ports",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--prefix", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        asyncio.run(child(args.child, args.url, args.prefix, args.wards))
        return 0
    if args.topology == "server" and not args.url.startswith(("redis://127.0.0.1", "redis://localhost", "unix://")):
        p.error("benchmarks run against a loopback Redis only")
    _pin(CLIENT_CORE)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        variants = [(f"after:{n}", f"after, {n} wards/connection") for n in args.per_connection]
        if args.before_ref:
            variants.insert(0, (before_module(args.before_ref, Path(tmp)), f"before ({args.before_ref})"))
        target = Target(args, Path(tmp))
        try:
            for impl, label in variants:
                result = asyncio.run(run_variant(impl, label, args, target))
                print(json.dumps(result), flush=True)
                results.append(result)
        finally:
            target.close()
    print(f"\n| figure | {' | '.join(r['variant'] for r in results)} |")
    print("| --- |" + " ---: |" * len(results))
    keys = ("redis_connections", "sentinel_connections", "idle_cpu_ms_per_s", "cpu_us_per_delivery", "p50_ms", "p99_ms",
            "redis_cpu_ms_write_phase", "appended", "delivered", "wards_started", "tail_errors", "rss_mib")  # fmt: skip
    for key in keys:
        cells = [f"{r[key]:.1f}" if isinstance(r[key], float) else str(r[key]) for r in results]
        print(f"| {key} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
