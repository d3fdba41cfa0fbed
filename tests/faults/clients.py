"""Load for the fault scenarios: recording WebSocket clients that resume like a board does, and writers.

A `Watcher` keeps one connection open to its ward (through any of the instances it is given), records every
frame into its `ClientLog` and, whenever the connection ends, reconnects after a short jittered pause with
`since`/`epoch` from the last frame it had — what the wall board's script does. `drop` ends the connection
from the client's side (a phone losing signal); `offline` keeps it away for a while so events pile up.
A `Writer` PATCHes beds with unique notes and records every outcome in the checker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import ssl
import uuid
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.faults.checker import Checker, ClientLog, Frame, WriteOutcome

STATUSES = ("empty", "cleaning", "blocked")
WRITE_TIMEOUT_SECS = 40.0  # above the store's 30 s command timeout: no answer by then is a hang


def parse_frame(raw: str | bytes, role: str, keep_board: bool = True) -> Frame:
    msg: dict[str, Any] = orjson.loads(raw)
    kind = msg["type"]
    seq = int(msg["offset"].split("-")[0]) if "offset" in msg else None
    f = Frame(kind, seq, msg.get("epoch"), msg.get("recovered"))
    if kind == "snapshot" and keep_board:
        f.beds = {b["id"]: (b["status"], None if role == "display" else b.get("notes")) for b in msg["beds"]}
    elif kind == "event":
        event = msg["event"]
        f.bed, f.changes = event.get("bed"), event.get("changes")
    return f


class Watcher:
    def __init__(
        self, urls: list[str], ward: str, token: str, log: ClientLog, tls: ssl.SSLContext | None = None
    ) -> None:
        self.urls = urls  # ws://host:port of each instance (or wss:// of a proxy); a reconnect picks any
        self.tls = tls
        self.ward = ward
        self.token = token
        self.log = log
        self.ws: ClientConnection | None = None
        self.stopping = False
        self.away_until = 0.0
        self.task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> Watcher:
        self.task = asyncio.create_task(self.run(), name=f"watcher-{self.log.name}")
        return self

    async def stop(self) -> None:
        self.stopping = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 2)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def drop(self, away_secs: float = 0.0) -> None:
        """End the connection from the client's side; stay away `away_secs` before resuming."""
        self.away_until = asyncio.get_running_loop().time() + away_secs
        ws = self.ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopping:
            wait = self.away_until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            query = ""
            if self.log.seq is not None:
                query = f"?since={self.log.seq}-0&epoch={self.log.epoch}"
            url = f"{random.choice(self.urls)}/ws/wards/{self.ward}{query}"
            conn = self.log.open()
            try:
                async with connect(
                    url, additional_headers={"Authorization": f"Bearer {self.token}"}, open_timeout=5,
                    close_timeout=2, ping_interval=None, max_size=2**24, ssl=self.tls,
                ) as ws:  # fmt: skip
                    self.ws = ws
                    self.connected.set()
                    async for raw in ws:
                        self.log.see(conn, parse_frame(raw, self.log.role))
            except ConnectionClosed as exc:
                conn.close_code = exc.rcvd.code if exc.rcvd is not None else None
            except InvalidStatus as exc:
                conn.error = f"HTTP {exc.response.status_code}"
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                conn.error = f"{type(exc).__name__}: {exc}"
            else:
                conn.close_code = ws.close_code
            finally:
                self.ws = None
                self.connected.clear()
            await asyncio.sleep(random.uniform(0.05, 0.3))


class Writer:
    """PATCHes random beds of its ward through any instance, unique notes each time, until stopped."""

    _ids = itertools.count(1)

    def __init__(
        self,
        checker: Checker,
        urls: list[str],
        ward: str,
        beds: list[str],
        token: str,
        *,
        pause: float = 0.05,
        pad: int = 0,
        bulky: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.checker = checker
        self.urls = urls
        self.ward = ward
        self.beds = beds
        self.token = token
        self.pause = pause
        self.pad = pad  # extra note length: big events fill a slow client's buffers sooner
        self.bulky = bulky  # a patient with 30 long tasks on every write: ~6 KB events
        self.tls = tls
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        self.name = f"w{next(self._ids)}"

    def start(self) -> Writer:
        self.task = asyncio.create_task(self.run(), name=f"writer-{self.name}")
        return self

    async def stop(self) -> None:
        """Let the write in flight finish (its outcome must be recorded), then stop."""
        self.stopping = True
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.task), WRITE_TIMEOUT_SECS + 5)

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        limits = httpx.Limits(max_keepalive_connections=2)
        verify: ssl.SSLContext | bool = self.tls or True
        async with httpx.AsyncClient(headers=headers, timeout=WRITE_TIMEOUT_SECS, limits=limits, verify=verify) as http:
            while not self.stopping:
                out = await self.write_once(http)
                # A server that is down is retried gently (as a phone would), not hammered.
                pause = self.pause if out.kind == "ok" else max(self.pause, 0.1)
                await asyncio.sleep(pause * random.uniform(0.5, 1.5))

    async def write_once(self, http: httpx.AsyncClient, bed: str | None = None) -> WriteOutcome:
        bed = bed or random.choice(self.beds)
        note = f"{self.name}-{uuid.uuid4().hex[:10]}" + "x" * self.pad
        status = "occupied" if self.bulky else random.choice(STATUSES)
        body: dict[str, Any] = {"status": status, "notes": note}
        if self.bulky:
            tasks = [{"kind": "other", "text": f"{note[:20]} {i} " + "t" * 160} for i in range(30)]
            body["patient"] = {"name": "Bulky Test", "tasks": tasks}
        out = WriteOutcome(self.ward, bed, note, status, "error")
        url = f"{random.choice(self.urls)}/api/wards/{self.ward}/beds/{bed}"
        try:
            r = await http.patch(url, json=body)
        except httpx.TimeoutException:
            out.kind = "timeout"
        except httpx.HTTPError as exc:
            out.body = f"{type(exc).__name__}: {exc}"
        else:
            out.http_status = r.status_code
            with contextlib.suppress(ValueError):
                out.body = r.json()
            if 200 <= r.status_code < 300:
                out.kind = "ok"
                out.seq = int(out.body["offset"].split("-")[0])
                etag = r.headers.get("etag", "")
                with contextlib.suppress(ValueError, IndexError):
                    out.version = int(etag.strip('"').split(".")[0].removeprefix("bed-"))
            else:
                out.kind = "refused"
        self.checker.writes.append(out)
        return out
