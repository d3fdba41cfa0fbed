"""Fan-out benchmark: the whiteboard server against a bare `websockets` broadcast, in one run, as ratios.

    .venv/bin/python -m loadtest.bench --wards 50 --subs 20,2 --rate 100 --duration 20 --idle 10000

For each target (bare; whiteboard embedded; whiteboard Redis + PostgreSQL) and each subscriber count, a
fresh server pinned to core 0 (`os.sched_setaffinity`), and this process — every client connection and the
writer, in one asyncio loop — pinned to core 1. Phases:

1. connect one subscriber per ward (warm-up), read the server's RSS; connect the rest; RSS again:
   memory per connection = the delta / the extra connections.
2. write `rate` updates/s for `duration` s, round-robin over wards (whiteboard: authenticated HTTP PATCHes of
   a bed's `notes`; bare: frames on a writer WebSocket), each carrying a unique marker; wait for delivery.
   Server CPU (user + system, psutil) over the phase / delivered event frames (a frame not delivered
   within LOADTEST_DRAIN_S, default 15 s, after the last write counts as lost); write → client latency
   from the writer's clock to the subscriber's (same process); lost and duplicated per connection.
3. `--idle N`: a fresh server, N idle connections, RSS per connection.

Rate limits are off on the whiteboard server for the run (one credential writes everything): this
measures the path, not the limiter. Only 127.0.0.1; every phase is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection, connect

from loadtest.bench import gcpauses, rawclient
from loadtest.orphans import die_with_parent
from loadtest.run import Backend, free_port, log, stop

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SERVER_CORE, CLIENT_CORE = 0, 1
CONNECT_CONCURRENCY = 100
# Whether clients offer permessage-deflate (browsers do; the ceiling figures in issue 9 are without it).
COMPRESSION: contextvars.ContextVar[str | None] = contextvars.ContextVar("compression", default=None)
# Which subscriber client: the lean one (`rawclient`, ~10x the frames per second of one core) or `websockets`.
CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("client", default="raw")
# WHITEBOARD_* settings for the whiteboard servers (`--server-env`), e.g. to compare a setting on and off.
SERVER_ENV: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("server_env", default={})  # noqa: B039
DRAIN_S = 15.0  # default wait after the last write; what has not arrived by then counts as lost


def pin(core: int) -> None:
    try:
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError) as exc:
        log(f"WARNING: could not pin to core {core}: {exc}")


def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, want), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


@dataclass
class Server:
    target: str  # bare | embedded | redis+postgresql
    wards: list[str]
    proc: subprocess.Popen[bytes]
    url: str
    token: str = ""
    writer_token: str = ""
    backend: Backend | None = None
    tmp: Path | None = None

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.proc.pid)

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def close(self) -> None:
        stop(self.proc, f"{self.target} server")
        if self.backend is not None:
            self.backend.drop()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def split_target(target: str) -> tuple[str, Path | None]:
    """`embedded@/path/to/tree`: the kind of server, and the code tree it runs from (None: this one's)."""
    kind, at, tree = target.partition("@")
    if at and not (Path(tree) / "whiteboard" / "__init__.py").is_file():
        raise SystemExit(f"[loadtest] ERROR: {tree!r} holds no whiteboard package (target {target!r})")
    return kind, (Path(tree).resolve() if at else None)


def start(target: str, n_wards: int, beds: int) -> Server:
    """A fresh server pinned to the server core. `target` may name another code tree (`embedded@/work/base`),
    which then runs with this virtualenv (its tree first on PYTHONPATH): an A/B against another branch in one
    run, as ratios of the same machine's minute."""
    wards = [f"f{i + 1:03d}" for i in range(n_wards)]
    target, tree = split_target(target)
    port = free_port()
    pin_server = die_with_parent(lambda: os.sched_setaffinity(0, {SERVER_CORE}))  # runs in the child
    if target == "bare":
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "loadtest.bench.bare",
                "--port",
                str(port),
                "--wards",
                str(n_wards),
                "--beds",
                str(beds),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            preexec_fn=pin_server,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("the bare server did not start")
        return Server(target, wards, proc, f"ws://127.0.0.1:{port}")
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    backend = Backend(target, tmp)
    backend.create()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHITEBOARD_")}
    env.update(backend.env)
    env.update(
        {
            "WHITEBOARD_WRITE_RATE_PER_MIN": "0",
            "WHITEBOARD_WS_CONNECT_RATE_PER_MIN": "0",
            "WHITEBOARD_LOG_LEVEL": "warning",
            "WHITEBOARD_ACCESS_LOG": "false",
        }
    )
    env.update(SERVER_ENV.get())
    if tree is not None:
        env["PYTHONPATH"] = f"{tree}:{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(tree)
    env.update(gcpauses.server_env(tmp / "gc.jsonl", env.get("PYTHONPATH")))
    cli = [str(VENV_BIN / "whiteboard")]

    def run_cli(*args: str) -> str:
        return subprocess.run(
            cli + list(args), cwd=tmp, env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    run_cli("db", "upgrade")  # the other commands refuse to create a database
    run_cli("ward", "add", *wards, "--beds", str(beds))
    reader = run_cli("token", "create", "--role", "viewer", "--label", "bench subscribers")
    writer = run_cli("token", "create", "--role", "nurse", "--label", "bench writer")
    proc = subprocess.Popen(
        cli + ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=tmp,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "server.log").open("wb"),
        preexec_fn=pin_server,
    )
    wait_http(f"http://127.0.0.1:{port}/readyz", proc)
    return Server(target, wards, proc, f"ws://127.0.0.1:{port}", reader, writer, backend, tmp)


@dataclass
class Tally:
    sent: dict[str, float] = field(default_factory=dict)  # marker -> perf_counter at send
    ward_of: dict[str, str] = field(default_factory=dict)
    got: dict[int, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))  # sub -> marker -> n
    latency_ms: list[float] = field(default_factory=list)
    delivered: int = 0

    def receive(self, sub: int, marker: str, t: float | None = None) -> None:
        t = time.perf_counter() if t is None else t
        seen = self.got[sub]
        seen[marker] = seen.get(marker, 0) + 1
        self.delivered += 1
        if marker in self.sent:
            self.latency_ms.append((t - self.sent[marker]) * 1000)


async def subscribe(
    server: Server, ward: str, sub: int, tally: Tally, opened: asyncio.Event, gate: asyncio.Semaphore
) -> None:
    if CLIENT.get() == "raw" and COMPRESSION.get() is None:
        async with gate:
            proto = await rawclient.connect(
                server.url, f"/ws/wards/{ward}", server.token, lambda marker, t: tally.receive(sub, marker, t)
            )
        opened.set()
        try:
            await proto.closed
        finally:
            if proto.transport is not None:
                proto.transport.close()
        return
    headers = {"Authorization": f"Bearer {server.token}"} if server.token else {}
    async with gate:
        ws: ClientConnection = await connect(
            f"{server.url}/ws/wards/{ward}",
            additional_headers=headers,
            max_size=2**24,
            ping_interval=None,
            compression=COMPRESSION.get(),
            open_timeout=120,
        )
        await ws.recv()  # the snapshot
    opened.set()
    try:
        async for raw in ws:
            msg = orjson.loads(raw)
            if msg.get("type") == "event":
                marker = msg["event"]["changes"].get("notes")
                if marker:
                    tally.receive(sub, marker)
    finally:
        await ws.close()


async def open_many(server: Server, plan: list[str], tally: Tally, first: int = 0) -> list[asyncio.Task[None]]:
    """Connect one subscriber per entry of `plan` (its ward); subscriber ids run from `first`."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    events = [asyncio.Event() for _ in plan]
    tasks = [asyncio.create_task(subscribe(server, w, first + i, tally, events[i], gate)) for i, w in enumerate(plan)]
    waiter = asyncio.gather(*(e.wait() for e in events))
    pending: list[asyncio.Future[Any]] = [waiter, *tasks]
    done, _ = await asyncio.wait(pending, timeout=300, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        for t in tasks:
            if t.done() and t.exception():
                raise RuntimeError(f"a subscriber failed to connect: {t.exception()!r}")
        raise RuntimeError("subscribers did not all connect within 300 s")
    return tasks


async def settle(server: Server, seconds: float = 1.5) -> int:
    await asyncio.sleep(seconds)
    return server.rss()


async def write_all(server: Server, rate: float, duration: float, tally: Tally) -> int:
    n = int(rate * duration)
    errors = 0
    t0 = time.perf_counter()
    if server.target == "bare":
        async with connect(
            f"{server.url}/write",
            ping_interval=None,
            compression=COMPRESSION.get(),
        ) as w:
            for i in range(n):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
                ward, marker = server.wards[i % len(server.wards)], f"m{i}"
                tally.sent[marker], tally.ward_of[marker] = time.perf_counter(), ward
                await w.send(orjson.dumps({"ward": ward, "bed": f"B{i % 20 + 1:02d}", "notes": marker}).decode())
        return 0
    http = server.url.replace("ws://", "http://")
    async with rawclient.Writer(http, server.writer_token or "", connections=32) as client:

        async def one(i: int) -> None:
            nonlocal errors
            ward, marker = server.wards[i % len(server.wards)], f"m{i}"
            tally.sent[marker], tally.ward_of[marker] = time.perf_counter(), ward
            body = orjson.dumps({"notes": marker})
            if await client.patch(f"/api/wards/{ward}/beds/B{i % 20 + 1:02d}", body) != 200:
                errors += 1
                tally.sent.pop(marker, None)
                tally.ward_of.pop(marker, None)

        pending = []
        for i in range(n):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            pending.append(asyncio.create_task(one(i)))
        await asyncio.gather(*pending)
    return errors


def pctl(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))], 2)


async def traffic_phase(
    target: str, wards: int, subs: int, rate: float, duration: float, beds: int, py_spy: str | None
) -> dict[str, Any]:
    server = start(target, wards, beds)
    tally = Tally()
    tasks: list[asyncio.Task[None]] = []
    try:
        opening = time.time()
        tasks += await open_many(server, list(server.wards), tally)
        warm = await settle(server)
        plan = [w for w in server.wards for _ in range(subs - 1)]
        tasks += await open_many(server, plan, tally, first=wards) if plan else []
        full = await settle(server)
        conns = wards * subs
        spy = profile(py_spy, server.proc.pid, duration, f"{target}-{subs}subs", rate=200) if py_spy else None
        me = psutil.Process()
        cpu0, t0, mine0 = server.cpu(), time.perf_counter(), sum(me.cpu_times()[:2])
        writing = time.time()
        errors = await write_all(server, rate, duration, tally)
        expected = len(tally.sent) * subs
        deadline = time.monotonic() + float(os.environ.get("LOADTEST_DRAIN_S") or DRAIN_S)
        while tally.delivered < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        elapsed, cpu = time.perf_counter() - t0, server.cpu() - cpu0
        gc_log = server.tmp / "gc.jsonl" if server.tmp is not None else None
        full_gc = gcpauses.summary(gc_log, writing, time.time()) if gc_log else None
        if full_gc is not None:
            log(f"{target}: full collections while writing {full_gc}")
        client_share = (
            sum(me.cpu_times()[:2]) - mine0
        ) / elapsed  # near 1.0: the clients, not the server, set the pace
        if spy is not None:
            spy.wait(duration + 30)
        by_ward: dict[str, set[str]] = defaultdict(set)
        for marker, ward in tally.ward_of.items():
            by_ward[ward].add(marker)
        plan_all = list(server.wards) + plan
        lost = sum(len(by_ward[w].difference(tally.got[i])) for i, w in enumerate(plan_all))
        dup = sum(n - 1 for seen in tally.got.values() for n in seen.values() if n > 1)
        return {
            "target": target,
            "wards": wards,
            "subs_per_ward": subs,
            "connections": conns,
            "rate": rate,
            "duration_s": duration,
            "writes": len(tally.sent),
            "write_errors": errors,
            "delivered": tally.delivered,
            "delivered_per_s": round(tally.delivered / elapsed, 1),
            "latency_ms": {
                "p50": pctl(tally.latency_ms, 0.5),
                "p99": pctl(tally.latency_ms, 0.99),
                "max": round(max(tally.latency_ms), 2) if tally.latency_ms else None,
            },
            "lost": lost,
            "duplicated": dup,
            "server_cpu_s": round(cpu, 3),
            "server_core_share": round(cpu / elapsed, 3),
            "client_core_share": round(client_share, 3),
            "cpu_ms_per_1000_delivered": round(cpu / max(1, tally.delivered) * 1e6, 2),
            "rss_kib_per_conn": round((full - warm) / max(1, conns - wards) / 1024, 1),
            "full_gc_while_opening": gcpauses.summary(gc_log, opening, writing) if gc_log else None,
            "full_gc_while_writing": full_gc,
        }
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()


async def idle_phase(target: str, wards: int, n: int, beds: int) -> dict[str, Any]:
    server = start(target, wards, beds)
    tally = Tally()
    tasks: list[asyncio.Task[None]] = []
    try:
        tasks += await open_many(server, list(server.wards), tally)
        warm = await settle(server)
        t0 = time.perf_counter()
        tasks += await open_many(server, [server.wards[i % wards] for i in range(n - wards)], tally, first=wards)
        opened_s = time.perf_counter() - t0
        full = await settle(server, 3.0)
        return {
            "target": target,
            "idle_connections": n,
            "open_s": round(opened_s, 1),
            "rss_kib_per_conn": round((full - warm) / max(1, n - wards) / 1024, 1),
        }
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()


def ratios(rows: list[dict[str, Any]], idle: list[dict[str, Any]], top_subs: int, low_subs: int | None) -> list[str]:
    """The comparison table, each whiteboard figure also as a multiple of the bare server's."""

    def get(target: str, subs: int) -> dict[str, Any] | None:
        return next((r for r in rows if r["target"] == target and r["subs_per_ward"] == subs), None)

    seen = dict.fromkeys(r["target"] for r in rows if r["subs_per_ward"] == top_subs)
    targets = sorted(seen, key=lambda t: t != "bare")  # bare first: the other columns' multiples are of it
    base = get("bare", top_subs)

    def marginal(t: str) -> float | None:
        hi, lo = get(t, top_subs), get(t, low_subs) if low_subs else None
        if not hi or not lo or hi["delivered"] == lo["delivered"]:
            return None
        return float((hi["server_cpu_s"] - lo["server_cpu_s"]) / (hi["delivered"] - lo["delivered"]) * 1e6)

    lines = ["| figure | " + " | ".join(targets) + " |", "| --- |" + " ---: |" * len(targets)]

    def row(label: str, values: list[float | None], unit: str = "") -> None:
        b = values[0]
        cells = []
        for i, v in enumerate(values):
            if v is None:
                cells.append("—")
            elif i == 0 or not b:
                cells.append(f"{v:g}{unit}")
            else:
                cells.append(f"{v:g}{unit} ({v / b:.1f}×)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    tops = [get(t, top_subs) for t in targets]
    row("delivered messages/s", [r["delivered_per_s"] for r in tops if r])
    row("server CPU per 1,000 delivered, writes included", [r["cpu_ms_per_1000_delivered"] for r in tops if r], " ms")
    if low_subs:
        row(
            f"marginal CPU per extra delivery ({top_subs} vs {low_subs} subs/ward)",
            [round(m, 1) if (m := marginal(t)) is not None else None for t in targets],
            " µs",
        )
    for key in ("p50", "p99", "max"):
        row(f"write → client {key}", [r["latency_ms"][key] for r in tops if r], " ms")
    row(
        f"RSS per connection ({base['connections'] if base else '?'} open)",
        [r["rss_kib_per_conn"] for r in tops if r],
        " KiB",
    )
    idle_by = {i["target"]: i for i in idle}
    if idle_by:
        row(
            f"RSS per connection ({next(iter(idle_by.values()))['idle_connections']:,} idle)",
            [idle_by[t]["rss_kib_per_conn"] if t in idle_by else None for t in targets],
            " KiB",
        )
    lines.append("| lost / duplicated | " + " | ".join(f"{r['lost']} / {r['duplicated']}" for r in tops if r) + " |")
    return lines


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    subs = [int(s) for s in args.subs.split(",")]
    rows = []
    for target in args.targets.split(","):
        for s in subs:
            log(f"{target}: {args.wards} wards × {s} subscribers, {args.rate:g} updates/s for {args.duration:g} s")
            spy = args.py_spy if (args.py_spy and target != "bare" and s == subs[0]) else None
            rows.append(await traffic_phase(target, args.wards, s, args.rate, args.duration, args.beds, spy))
            log(json.dumps(rows[-1]))
    idle = []
    if args.idle:
        for target in args.targets.split(","):
            log(f"{target}: {args.idle} idle connections")
            idle.append(await idle_phase(target, args.wards, args.idle, args.beds))
            log(json.dumps(idle[-1]))
    table = ratios(rows, idle, subs[0], subs[1] if len(subs) > 1 else None)
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "params": vars(args),
        "runs": rows,
        "idle": idle,
        "table": table,
    }


def profile(
    py_spy: str, pid: int, seconds: float, name: str, *, rate: int, threads: bool = False
) -> subprocess.Popen[bytes]:
    """py-spy on the server for a measured phase, raw stacks to loadtest/reports/py-spy-<name>.txt (which
    `pyspy_summary` reads); LOADTEST_PY_SPY_GIL=1 samples only the thread holding the GIL."""
    out = ROOT / "loadtest" / "reports" / f"py-spy-{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate)]
    cmd += ["--threads"] if threads else []
    cmd += ["--gil"] if os.environ.get("LOADTEST_PY_SPY_GIL") else []
    log(f"py-spy: {out}")
    return subprocess.Popen(
        [*cmd, "--nonblocking", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def save_report(result: dict[str, Any], out: Path | None, kind: str) -> Path:
    """Write a bench's JSON results (default loadtest/reports/<kind>-<UTC stamp>.json) and print its table."""
    out = out or ROOT / "loadtest" / "reports" / f"{kind}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str))
    print("\n".join(result["table"]))
    print(f"results: {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m loadtest.bench",
        description="Fan-out: the whiteboard server against a bare websockets broadcast, in one run, as ratios "
        "(server pinned to core 0, clients to core 1; 127.0.0.1 only; every phase bounded). Results as a table "
        "and as JSON; docs/PERFORMANCE.md records the runs.",
        epilog="example: python -m loadtest.bench --wards 50 --subs 20,2 --rate 100 --duration 20 --idle 10000",
    )
    ap.add_argument("--wards", type=int, default=50, help="wards (each its own event log and subscribers)")
    ap.add_argument("--subs", default="20,2", help="subscribers per ward; the second is for the marginal cost")
    ap.add_argument("--rate", type=float, default=100.0, help="updates per second (all wards together)")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of updates per phase")
    ap.add_argument("--beds", type=int, default=24, help="beds per ward (writes go round-robin over them)")
    ap.add_argument("--idle", type=int, default=0, help="also measure RSS per connection with N idle connections")
    ap.add_argument(
        "--compression",
        choices=("none", "deflate"),
        default="none",
        help="clients offer permessage-deflate (as browsers do) or not (default)",
    )
    ap.add_argument(
        "--client",
        choices=("raw", "websockets"),
        default="raw",
        help="subscribers use the lean hand-parsing client (default; can read ~10x the frames of one core) or the "
        "websockets library (a cross-check; ~19,000 frames/s per core); --compression deflate needs websockets",
    )
    ap.add_argument(
        "--targets",
        default="bare,embedded,redis+postgresql",
        help="servers to measure, in order: bare (the websockets ceiling), embedded (SQLite + in-process log), "
        "redis+postgresql (the local Redis and PostgreSQL, with a fresh key prefix and database, removed afterwards); "
        "KIND@TREE runs a whiteboard server from another code tree, e.g. embedded@/work/base for an A/B in one run",
    )
    ap.add_argument(
        "--py-spy",
        help="path to py-spy: profile each whiteboard server during its first phase (LOADTEST_PY_SPY_GIL=1: --gil)",
    )
    ap.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="WHITEBOARD_NAME=VALUE",
        help="a setting for the whiteboard servers (repeatable), e.g. WHITEBOARD_GC_FREEZE_SECS=0 for CPython's "
        "own garbage-collector policy; full collections are logged either way (loadtest/bench/gcpauses.py)",
    )
    ap.add_argument("--out", type=Path, help="JSON results (default loadtest/reports/bench-<stamp>.json)")
    args = ap.parse_args(argv)
    if os.cpu_count() and os.cpu_count() < 2:  # type: ignore[operator]
        log("WARNING: fewer than 2 cores; server and clients share one")
    limit = raise_nofile(2 * (args.wards * max(int(s) for s in args.subs.split(",")) + args.idle) + 1024)
    log(f"open files limit {limit}")
    pin(CLIENT_CORE)
    COMPRESSION.set("deflate" if args.compression == "deflate" else None)
    CLIENT.set(args.client)
    pairs = [item.partition("=") for item in args.server_env]
    if any(not k.startswith("WHITEBOARD_") or not sep for k, sep, _ in pairs):
        ap.error("--server-env takes WHITEBOARD_NAME=VALUE")
    SERVER_ENV.set({k: v for k, _, v in pairs})
    result = asyncio.run(bench(args))
    save_report(result, args.out, "bench")
    bad = [r for r in result["runs"] if r["lost"] or r["duplicated"] or r["write_errors"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
