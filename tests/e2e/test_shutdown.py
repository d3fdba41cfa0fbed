"""Graceful shutdown with real processes: SIGTERM under a steady write load with subscribers connected.

Two instances share PostgreSQL and Redis. The one that gets SIGTERM turns /readyz 503 at once, stops
accepting connections, answers every write it has taken, closes every WebSocket with 1012 and exits 0; the
clients move to the other instance, resume by offset and miss nothing. The checks are the delivery
guarantee's (docs/ARCHITECTURE.md): every acknowledged write in the database once and in the log once.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.e2e.server import ServerProcess
from tests.e2e.wsclient import open_ws

WARD = "ward-drain"
pytestmark = pytest.mark.parametrize("backend", ["redis+postgresql"], indirect=True)
LOAD_ENV = {"WHITEBOARD_SHUTDOWN_DRAIN_SECS": "1.5", "WHITEBOARD_WRITE_RATE_PER_MIN": "0"}


async def pg(database_url: str) -> asyncpg.Connection:
    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )


async def log_entries(s: ServerProcess, token: str) -> list[tuple[int, dict[str, Any]]]:
    """The ward's whole event log, through the events endpoint (staff: the stored events)."""
    out: list[tuple[int, dict[str, Any]]] = []
    since = "0-0"
    async with httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        while True:
            body = (await c.get(f"/api/wards/{WARD}/events", params={"since": since, "limit": 1000})).json()
            out += [(int(e["offset"].split("-")[0]), e["event"]) for e in body["events"]]
            if not body["events"]:
                return out
            since = body["next"]


@dataclass
class Watcher:
    """A client that follows the ward on `first`, and after any close resumes on `then` from its offset."""

    token: str
    seq: int | None = None
    epoch: str | None = None
    closes: list[int | None] = field(default_factory=list)
    resumes: list[bool] = field(default_factory=list)
    snapshots: int = 0
    misses: list[str] = field(default_factory=list)

    def take(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "snapshot":
            self.snapshots += 1
            self.seq, self.epoch = int(msg["offset"].split("-")[0]), msg["epoch"]
        elif kind == "event":
            seq = int(msg["offset"].split("-")[0])
            if self.seq is None or seq != self.seq + 1:
                self.misses.append(f"event {seq} after {self.seq}")
            self.seq = seq
        elif kind == "resumed":
            self.resumes.append(bool(msg["recovered"]))
            if int(msg["offset"].split("-")[0]) != self.seq:
                self.misses.append(f"resumed at {msg['offset']} with {self.seq}")

    async def follow(self, ws: ClientConnection, until: Callable[[], bool]) -> None:
        try:
            while not until():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                self.take(orjson.loads(raw))
        except ConnectionClosed as exc:
            self.closes.append(exc.rcvd.code if exc.rcvd else None)
            return
        await ws.close()

    async def run(self, first: ServerProcess, then: ServerProcess, until: Callable[[], bool]) -> None:
        await self.follow(await open_ws(first.ws_url, WARD, self.token), until)
        while not until():
            await asyncio.sleep(random.uniform(0, 0.3))  # as the page's jittered backoff
            query = {"since": f"{self.seq}-0", "epoch": str(self.epoch)} if self.seq is not None else {}
            await self.follow(await open_ws(then.ws_url, WARD, self.token, **query), until)


@dataclass
class Writer:
    """PATCHes one bed as fast as answers come, on a keep-alive connection; moves to `then` when `first` goes."""

    token: str
    bed: str
    acked: list[tuple[int, str]] = field(default_factory=list)  # (seq, notes)
    failures: list[str] = field(default_factory=list)

    async def run(self, first: ServerProcess, then: ServerProcess, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        target, n = first, 0
        client = httpx.AsyncClient(base_url=target.url, headers=headers, timeout=20)
        try:
            while not stop.is_set():
                n += 1
                notes = f"{self.bed} write {n}"
                try:
                    r = await client.patch(f"/api/wards/{WARD}/beds/{self.bed}", json={"notes": notes})
                except httpx.TransportError as exc:
                    self.failures.append(type(exc).__name__)
                    await client.aclose()
                    target = then
                    client = httpx.AsyncClient(base_url=target.url, headers=headers, timeout=20)
                    continue
                assert r.status_code == 200, r.text
                self.acked.append((int(r.json()["offset"].split("-")[0]), notes))
        finally:
            await client.aclose()


async def test_sigterm_under_load_loses_nothing_and_moves_every_client(
    make_server: Callable[..., ServerProcess], backend: dict[str, str | None]
) -> None:
    a = make_server(env=LOAD_ENV)
    a.cli("ward", "add", WARD, "--beds", "6", "--name", "Ward Drain")
    a.start()
    b = make_server(env=LOAD_ENV).start()
    nurse, display = a.token("nurse", WARD), a.token("display", WARD)
    stop, done = asyncio.Event(), asyncio.Event()
    writers = [Writer(nurse, f"B0{i}") for i in range(1, 5)]
    watchers = [Watcher(nurse if i % 2 else display) for i in range(30)]
    watching = [asyncio.create_task(w.run(a, b, done.is_set)) for w in watchers]
    await asyncio.sleep(1.0)  # every watcher has its snapshot
    writing = [asyncio.create_task(w.run(a, b, stop)) for w in writers]
    async with httpx.AsyncClient(base_url=a.url, timeout=10) as probe:
        assert (await probe.get("/readyz")).status_code == 200  # a kept-alive connection opened before SIGTERM
        await asyncio.sleep(1.0)
        assert a.proc is not None
        a.proc.send_signal(signal.SIGTERM)
        for _ in range(100):  # the signal is handled between two requests: a request already running may say 200
            ready = await probe.get("/readyz")
            if ready.status_code != 200:
                break
            await asyncio.sleep(0.01)
        assert ready.status_code == 503 and ready.json()["status"] == "shutting down"
        assert ready.headers["connection"] == "close"  # and the proxy's connections move elsewhere
    assert await asyncio.to_thread(a.wait_exit, 30) == 0, a.output()
    await asyncio.sleep(1.0)  # writes go on through the other instance
    stop.set()
    await asyncio.gather(*writing)

    conn = await pg(str(backend["database_url"]))
    try:
        top = await conn.fetchval("SELECT seq FROM wards WHERE id = $1", WARD)
        notes = dict(await conn.fetch("SELECT id, notes FROM beds WHERE ward_id = $1", WARD))
    finally:
        await conn.close()
    for _ in range(150):  # every watcher catches up with the database on the other instance
        if all(w.seq == top for w in watchers):
            break
        await asyncio.sleep(0.1)
    done.set()
    await asyncio.gather(*watching)

    acked = [x for w in writers for x in w.acked]
    assert len(acked) > 20 and any(seq > 0 for seq, _ in acked)
    entries = await log_entries(b, nurse)
    seqs = [seq for seq, _ in entries]
    assert seqs == list(range(1, top + 1))  # the log: every committed change once, in order, no gap
    in_log = {seq: event for seq, event in entries}
    for seq, note in acked:  # every acknowledged write is in the log, as acknowledged
        assert in_log[seq]["changes"]["notes"] == note
    for wr in writers:  # and in the database: each bed holds its last acknowledged write
        assert notes[wr.bed] == wr.acked[-1][1]
        # Never a request cut: the only failure is the next connection refused (nothing was sent).
        assert set(wr.failures) <= {"ConnectError"}, wr.failures
    for w in watchers:
        assert w.closes[:1] == [1012], w.closes
        assert w.misses == [] and w.seq == top
        assert w.snapshots == 1 and w.resumes and all(w.resumes)  # resumed by offset, never a fresh snapshot


async def test_a_write_in_flight_at_sigterm_is_answered(
    make_server: Callable[..., ServerProcess], backend: dict[str, str | None]
) -> None:
    """A write waiting on the ward's row lock when SIGTERM comes is committed and answered, then the process exits 0."""
    a = make_server(env=LOAD_ENV)
    a.cli("ward", "add", WARD, "--beds", "2", "--name", "Ward Drain")
    a.start()
    b = make_server(env=LOAD_ENV).start()
    nurse = a.token("nurse", WARD)
    conn = await pg(str(backend["database_url"]))
    try:
        lock = conn.transaction()
        await lock.start()
        await conn.execute("SELECT 1 FROM wards WHERE id = $1 FOR UPDATE", WARD)  # the write will wait behind this
        async with httpx.AsyncClient(base_url=a.url, headers={"Authorization": f"Bearer {nurse}"}, timeout=30) as c:
            write = asyncio.create_task(c.patch(f"/api/wards/{WARD}/beds/B01", json={"notes": "in flight"}))
            await asyncio.sleep(0.5)
            assert a.proc is not None
            a.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            assert not write.done() and a.proc.poll() is None  # held: the drain waits for it
            await lock.commit()
            r = await write
        assert r.status_code == 200, r.text
        assert await asyncio.to_thread(a.wait_exit, 30) == 0, a.output()
        assert await conn.fetchval("SELECT notes FROM beds WHERE ward_id = $1 AND id = 'B01'", WARD) == "in flight"
    finally:
        await conn.close()
    assert [(seq, e["changes"]["notes"]) for seq, e in await log_entries(b, nurse)] == [(1, "in flight")]
