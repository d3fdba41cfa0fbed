"""The fault harness: real `whiteboard serve` processes on loopback, load, recording clients, and the verdict.

Tests stay synchronous (they start, kill -9 and restart processes, which blocks); everything asynchronous
(the watchers, the writers, the fault proxies) runs on one `BackgroundLoop` thread. A `Rig` is one scenario's
world: its servers (all sharing one database and one Redis, or embedded), wards, tokens, watchers, writers
and the `Checker`; `Rig.verify` waits for convergence (the guarantee's 5 s), reads the database and the log
directly and fails the test with every violation found.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.e2e.server import ServerProcess
from tests.faults.checker import CONVERGE_SECS, Checker
from tests.faults.clients import Watcher, Writer
from tests.faults.proxy import FaultProxy
from tests.faults.truth import WardTruth, read_database, read_redis_log
from tests.support import SETUP, free_port

T = TypeVar("T")
FAST_ENV = {
    # Fault scenarios hammer one credential: rate limits would refuse the load, not test the guarantee.
    "WHITEBOARD_WRITE_RATE_PER_MIN": "0",
    "WHITEBOARD_WS_CONNECT_RATE_PER_MIN": "0",
    "WHITEBOARD_OUTBOX_SWEEP_SECS": "0.5",
    # A graceful stop spreads its 1012 closes over at most this long: a handful of clients need no 10 s.
    "WHITEBOARD_SHUTDOWN_DRAIN_SECS": "1",
}


async def _seed(database_url: str, wards: dict[str, list[str]]) -> dict[str, str]:
    from whiteboard.store import create_private_sqlite_file, migrate, open_store

    create_private_sqlite_file(database_url)
    await migrate.upgrade(database_url)
    store = open_store(database_url)
    await store.connect()
    try:
        await store.add_wards(
            [(w, f"Fault {w}", [(b, "Bay 1") for b in beds]) for w, beds in wards.items()], actor=SETUP
        )
        tokens = {
            f"display:{w}": (await store.create_credential("display", (w,), "faults", actor=SETUP))[1] for w in wards
        }
        tokens["nurse"] = (await store.create_credential("nurse", None, "faults nurse", actor=SETUP))[1]
        tokens["ops"] = (await store.create_credential("ops", None, "faults ops", actor=SETUP))[1]
        return tokens
    finally:
        await store.aclose()


def server_story(s: ServerProcess, limit: int = 12000) -> str:
    """A failed scenario's server log without the access lines (thousands of PATCHes hide the one warning)."""
    lines = []
    for path in sorted(s.workdir.glob(f"server-{s.port}-*.log"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        lines.append(f"--- {path.name}")
        lines += [x for x in path.read_text(errors="replace").splitlines() if '"whiteboard.access"' not in x]
    return "\n".join(lines)[-limit:]


class BackgroundLoop:
    """An asyncio loop on its own thread; `call` runs a coroutine there and waits for its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="faults-loop", daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.call(cancel_all(), timeout=20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            if not self.thread.is_alive():
                self.loop.close()


@dataclass
class Rig:
    tmp_path: Path
    database_url: str
    redis_url: str | None = None  # what the servers use (possibly through a proxy)
    redis_truth_url: str | None = None  # the same Redis, direct: for reading the log
    redis_prefix: str = "wb"
    server_database_url: str | None = None  # what the servers use when it differs (through a proxy)
    env: dict[str, str] = field(default_factory=dict)
    loop: BackgroundLoop = field(default_factory=BackgroundLoop)
    checker: Checker = field(default_factory=Checker)
    servers: list[ServerProcess] = field(default_factory=list)
    wards: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # "nurse", "display:<ward>"
    watchers: list[Watcher] = field(default_factory=list)
    writers: list[Writer] = field(default_factory=list)
    proxies: list[FaultProxy] = field(default_factory=list)
    front: str | None = None  # clients go through this (https://host:port of a reverse proxy) instead
    tls: ssl.SSLContext | None = None  # what the clients trust for `front`

    # --- processes ---

    def server(self, **env: str) -> ServerProcess:
        s = ServerProcess(
            database_url=self.server_database_url or self.database_url,
            workdir=self.tmp_path,
            redis_url=self.redis_url,
            redis_prefix=self.redis_prefix,
            env={**FAST_ENV, **self.env, **env},
        )
        self.servers.append(s)
        return s

    def proxy(self, target_port: int) -> FaultProxy:
        p = FaultProxy(target_port, free_port())
        self.loop.call(p.start())
        self.proxies.append(p)
        return p

    def prepare(self, wards: tuple[str, ...] = ("ward-fa", "ward-fb"), beds: int = 6) -> None:
        """Schema, wards and tokens, written straight into the servers' database (in-process: a CLI call per
        token would cost a second each)."""
        new = {w: [f"B{i:02d}" for i in range(1, beds + 1)] for w in wards if w not in self.wards}
        self.wards.update(new)  # called again, it adds only the wards it has not made yet
        self.tokens.update(asyncio.run(_seed(self.database_url, new)))

    @property
    def ws_urls(self) -> list[str]:
        if self.front:
            return [self.front.replace("https://", "wss://").replace("http://", "ws://")]
        return [s.ws_url for s in self.servers]

    @property
    def http_urls(self) -> list[str]:
        return [self.front] if self.front else [s.url for s in self.servers]

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every running server's /readyz says 200 (the faults have stopped)."""
        deadline = time.monotonic() + timeout
        for s in self.servers:
            while True:
                try:
                    if httpx.get(s.url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"server {s.port} not ready {timeout}s after the faults:\n{s.output()}")
                time.sleep(0.1)

    def readyz(self, s: ServerProcess) -> tuple[int, dict[str, Any]]:
        r = httpx.get(s.url + "/readyz", timeout=10)
        return r.status_code, r.json()

    # --- load ---

    def watch(self, per_ward: int = 2, roles: tuple[str, ...] = ("nurse", "display")) -> list[Watcher]:
        """Start watchers (alternating roles) on every ward and wait for each one's first frame."""

        async def start() -> list[Watcher]:
            new: list[Watcher] = []
            for ward in self.wards:
                for i in range(per_ward):
                    role = roles[i % len(roles)]
                    token = self.tokens["nurse" if role == "nurse" else f"display:{ward}"]
                    log = self.checker.client(f"{ward}/{role}{len(self.watchers) + len(new)}", ward, role)
                    new.append(Watcher(self.ws_urls, ward, token, log, self.tls).start())
            deadline = asyncio.get_running_loop().time() + 20
            while any(w.log.seq is None for w in new):
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("watchers got no first frame in 20 s")
                await asyncio.sleep(0.05)
            return new

        got = self.loop.call(start())
        self.watchers += got
        return got

    def load(self, per_ward: int = 1, pause: float = 0.05, **kw: Any) -> list[Writer]:
        """Writers on every ward (`pad=`, `bulky=`: bigger events, see `Writer`)."""

        async def start() -> list[Writer]:
            return [
                Writer(
                    self.checker, self.http_urls, ward, beds, self.tokens["nurse"], pause=pause, tls=self.tls, **kw
                ).start()
                for ward, beds in self.wards.items()
                for _ in range(per_ward)
            ]

        got = self.loop.call(start())
        self.writers += got
        return got

    def write(self, n: int = 1) -> list[str]:
        """`n` writes now, one after another, each outcome recorded; returns their kinds."""

        async def go() -> list[str]:
            ward, beds = next(iter(self.wards.items()))
            writer = Writer(self.checker, self.http_urls, ward, beds, self.tokens["nurse"])
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {self.tokens['nurse']}"}, timeout=40) as c:
                return [(await writer.write_once(c)).kind for _ in range(n)]

        return self.loop.call(go())

    def stop_load(self) -> None:
        async def stop() -> None:
            await asyncio.gather(*(w.stop() for w in self.writers))

        self.loop.call(stop(), timeout=60)

    def drop_watchers(self, fraction: float = 0.5, away_secs: float = 0.5) -> None:
        """Clients lose their connection for a while (they resume by offset)."""

        async def drop() -> None:
            n = max(1, int(len(self.watchers) * fraction))
            await asyncio.gather(*(w.drop(away_secs) for w in self.watchers[:n]))

        self.loop.call(drop())

    # --- the verdict ---

    def truth(self) -> dict[str, WardTruth]:
        return read_database(self.database_url, list(self.wards))

    def verify(self, *, log_kept: bool = True, min_acked: int = 1) -> dict[str, Any]:
        """Stop the load, wait up to 5 s for every client to equal the database, then judge invariants 1-4."""
        self.stop_load()
        self.wait_ready()
        truths = self.truth()
        deadline = time.monotonic() + CONVERGE_SECS

        async def lag() -> list[str]:  # on the loop, where the watchers write their logs
            return self.checker.lagging(truths)

        lagging = self.loop.call(lag())
        while lagging and time.monotonic() < deadline:
            time.sleep(0.1)
            lagging = self.loop.call(lag())
        converged_in = CONVERGE_SECS - max(0.0, deadline - time.monotonic())

        async def stop_watchers() -> None:
            await asyncio.gather(*(w.stop() for w in self.watchers))

        self.loop.call(stop_watchers())
        truths = self.truth()  # again: the sweeper may have emptied the outbox meanwhile
        logs = None
        if self.redis_truth_url:
            logs = {w: read_redis_log(self.redis_truth_url, self.redis_prefix, t.log_name) for w, t in truths.items()}
        violations = [f"not converged {CONVERGE_SECS:.0f} s after the faults: {x}" for x in lagging]
        violations += self.checker.verify(truths, logs, log_kept=log_kept)
        c = self.checker
        report = {
            "acked": len(c.acked),
            "refused_503": c.count("refused", 503),
            "unanswered": c.count("error") + c.count("timeout"),
            "clients": len(c.clients),
            "connections": sum(len(x.connections) for x in c.clients),
            "snapshots_recovered_false": sum(
                1 for x in c.clients for conn in x.connections for f in conn.frames
                if f.kind == "snapshot" and f.recovered is False
            ),
            "resumed": sum(1 for x in c.clients for conn in x.connections for f in conn.frames if f.kind == "resumed"),
            "converged_secs": round(converged_in, 2),
            "db_seq": {w: t.seq for w, t in truths.items()},
        }  # fmt: skip
        print(f"fault report: {report}")
        if len(c.acked) < min_acked:
            violations.append(f"only {len(c.acked)} writes acknowledged: the scenario tested nothing")
        assert not violations, f"{len(violations)} violation(s):\n" + "\n".join(violations[:40])
        return report

    def close(self, failed: bool) -> None:
        async def stop_all() -> None:
            for w in self.writers:
                w.stopping = True
            await asyncio.gather(*(w.stop() for w in self.watchers), return_exceptions=True)
            for p in self.proxies:
                await p.aclose()

        try:
            self.loop.call(stop_all(), timeout=30)
        finally:
            self.loop.close()
            for s in self.servers:
                s.stop()
                if failed:
                    print(f"\n--- server on port {s.port} (log {s.log_path}) ---\n{server_story(s)}")
