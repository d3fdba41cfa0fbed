"""`/ws/wards/{ward}`: snapshot or resume, then live events, heartbeats and the contract's close codes.

The subscriber is registered with the hub *before* the snapshot is taken or the replay read, so no
event can fall between them; anything queued at or below what the client already has is skipped by
offset (zulip's "create the queue first, then fetch the state").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from whiteboard.access.auth import Principal
from whiteboard.domain import offsets
from whiteboard.domain.clock import iso, utc_now
from whiteboard.errors import ApiError
from whiteboard.eventlog import EventLogUnavailable, recovery
from whiteboard.live.hub import CLOSE_SLOW_CLIENT, Subscriber, WardChannel, event_frame
from whiteboard.state import State, wb
from whiteboard.store import StoreUnavailable
from whiteboard.web.http import audit_read, credential_token, error_response, log_refusal

log = logging.getLogger("whiteboard.ws")

CLOSE_UNSUPPORTED = 1003  # binary frames: we speak JSON text only
CLOSE_POLICY = 1008  # malformed or unexpected client frames, a bad `since`
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012  # the server is going away; resume by offset
REPLAY_PAGE = 1000
CLOSE_TIMEOUT_SECS = 2.0


def origin_allowed(ws: WebSocket, allowed: tuple[str, ...]) -> bool:
    """Cookie credentials only from our own origin (or a configured one): no cross-site WebSocket hijacking."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser; a cookie alone is still checked below
    host = ws.headers.get("host", "")
    if urlsplit(origin).netloc == host:
        return True
    return origin in allowed


async def _authorise(ws: WebSocket, state: State) -> Principal | None:
    token, from_cookie = credential_token(ws)
    if token is None:
        return None
    if from_cookie and not origin_allowed(ws, state.settings.allowed_origins):
        log.warning("refused WebSocket with a cookie from foreign origin %r", ws.headers.get("origin"))
        return None
    return await state.auth.authenticate(token)


async def ward_socket(ws: WebSocket) -> None:
    state = wb(ws)
    ward_id = ws.path_params["ward"]
    who = await _authorise(ws, state)
    if who is None or not who.can_read_ward(ward_id):
        # Closing before accept refuses the upgrade (HTTP 403 to the client).
        state.metrics.ws_closed.labels("refused").inc()
        log_refusal(ws, 403, "forbidden" if who else "unauthorized", f"WebSocket to {ward_id}")
        await ws.close(code=CLOSE_POLICY)
        return
    wait = state.connect_limiter.take(who.credential_id)
    if wait > 0:
        state.metrics.ws_closed.labels("rate_limited").inc()
        log_refusal(ws, 429, "rate_limited", f"WebSocket to {ward_id}")
        retry = str(max(1, round(wait + 0.5)))
        message = f"too many connections from this credential; retry in {retry} s"
        refusal = ApiError(429, "rate_limited", message, headers={"Retry-After": retry})
        await ws.send_denial_response(error_response(refusal))
        return
    try:
        ch = await state.hub.channel(ward_id)
    except ApiError:
        await ws.close(code=CLOSE_POLICY)
        return
    except (StoreUnavailable, EventLogUnavailable):
        await ws.close(code=1011)
        return
    await ws.accept()
    session = _Session(ws, state, ch, who)
    await session.run()


class _Session:
    def __init__(self, ws: WebSocket, state: State, ch: WardChannel, who: Principal) -> None:
        self.ws = ws
        self.state = state
        self.ch = ch
        self.who = who
        self.floor = 0  # highest seq the client has been given
        self.close_code: int | None = None
        self.close_reason = ""
        self.writer: asyncio.Task[None] | None = None
        self.sub: Subscriber = state.hub.subscribe(ch, who.role, self._overflow)

    def _overflow(self) -> None:
        self.close_code, self.close_reason = CLOSE_SLOW_CLIENT, "too slow: resume from your last offset"
        self.state.metrics.ws_closed.labels("slow_client").inc()
        log.info("closing slow client on %s (%s)", self.ch.view.id, self.who.credential_id)
        if self.writer is not None:
            self.writer.cancel()

    async def run(self) -> None:
        reader: asyncio.Task[None] | None = None
        checker: asyncio.Task[None] | None = None
        try:
            await self._start()
            if self.sub.overflowed:
                return
            self.writer = asyncio.create_task(self._write_loop())
            reader = asyncio.create_task(self._read_loop())
            checker = asyncio.create_task(self._recheck_loop())
            await asyncio.wait({self.writer, reader, checker}, return_when=asyncio.FIRST_COMPLETED)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        except (EventLogUnavailable, StoreUnavailable):
            self.close_code, self.close_reason = 1011, "a backing service is unavailable; retry shortly"
        finally:
            self.state.hub.unsubscribe(self.ch, self.sub)
            for task in (self.writer, reader, checker):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if self.ws.application_state == WebSocketState.CONNECTED:
                # Bounded: a client that stopped reading would otherwise hold this task forever.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT_SECS):
                        await self.ws.close(code=self.close_code or 1000, reason=self.close_reason)
            self.state.metrics.ws_closed.labels(str(self.close_code or "client")).inc()

    async def _start(self) -> None:
        """First frames: a snapshot, or the missed events followed by `resumed`."""
        params = self.ws.query_params
        view = self.ch.view
        audience = self.sub.audience
        since_raw = params.get("since")
        if since_raw is None:
            await audit_read(self.ws, self.who, view.id, "read.ws_snapshot", {"offset": view.offset})
            await self._send_snapshot(recovered=None)
            return
        try:
            after = offsets.parse(since_raw)
        except offsets.BadOffset:
            self.close_code, self.close_reason = CLOSE_POLICY, "since is not an offset like 12-0"
            raise WebSocketDisconnect(CLOSE_POLICY) from None
        top, epoch = view.seq, view.epoch
        want_epoch = params.get("epoch")
        recovered = (want_epoch is None or want_epoch == epoch) and after <= top
        frames: list[str] = []
        cursor = after
        while recovered and cursor < top:
            log_epoch, page = await self.state.eventlog.read(view.log, cursor, REPLAY_PAGE)
            page = [e for e in page if e.seq <= top]
            if not page or not recovery.is_recovered(cursor, page, epoch=epoch, want_epoch=log_epoch, top=top):
                recovered = False
                break
            frames.extend(event_frame(epoch, e.seq, orjson.loads(e.payload), audience) for e in page)
            cursor = page[-1].seq
        if not recovered:
            self.state.metrics.resumes.labels("snapshot").inc()
            await audit_read(self.ws, self.who, view.id, "read.ws_snapshot", {"offset": view.offset})
            await self._send_snapshot(recovered=False)
            return
        replayed: dict[str, object] = {"since": since_raw, "offset": offsets.format(top)}
        await audit_read(self.ws, self.who, view.id, "read.ws_replay", replayed)
        for frame in frames:
            await self.ws.send_text(frame)
        self.floor = top
        await self.ws.send_text(
            orjson.dumps({"type": "resumed", "epoch": epoch, "offset": offsets.format(top), "recovered": True}).decode()
        )
        self.state.metrics.resumes.labels("replayed").inc()

    async def _send_snapshot(self, *, recovered: bool | None) -> None:
        view = self.ch.view
        self.floor = view.seq
        await self.ws.send_text(view.snapshot_frame(self.sub.audience, recovered=recovered))

    async def _recheck_loop(self) -> None:
        """A revoked or narrowed credential loses its open connections within seconds, not at reconnect."""
        token, _ = credential_token(self.ws)
        every = max(self.state.settings.credential_cache_secs, 1.0)
        while True:
            await asyncio.sleep(every)
            who = await self.state.auth.authenticate(token)
            if who is None or not who.can_read_ward(self.ch.view.id):
                self.close_code, self.close_reason = CLOSE_POLICY, "this credential was revoked; sign in again"
                self.state.metrics.ws_closed.labels("revoked").inc()
                log.info("closing connection of revoked credential %s on %s", self.who.credential_id, self.ch.view.id)
                return

    async def _write_loop(self) -> None:
        heartbeat = self.state.settings.heartbeat_secs
        queue = self.sub.queue
        while True:
            try:
                async with asyncio.timeout(heartbeat):
                    seq, frame, is_snapshot = await queue.get()
            except TimeoutError:
                beat = {"type": "heartbeat", "offset": offsets.format(self.floor), "at": iso(utc_now())}
                await self.ws.send_text(orjson.dumps(beat).decode())
                continue
            if not is_snapshot and seq <= self.floor:
                continue  # already in the snapshot or replay this client got
            if seq >= 0:  # control frames (pong) carry -1 and move nothing
                self.floor = seq
            await self.ws.send_text(frame)

    async def _read_loop(self) -> None:
        """Client frames are optional pings; anything malformed or oversized ends this connection only."""
        limit = self.state.settings.ws_max_message_bytes
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.close_code, self.close_reason = CLOSE_UNSUPPORTED, "send JSON text frames"
                return
            if len(text.encode()) > limit:
                self.close_code, self.close_reason = CLOSE_TOO_BIG, f"frames are limited to {limit} bytes"
                return
            try:
                msg = orjson.loads(text)
            except orjson.JSONDecodeError:
                self.close_code, self.close_reason = CLOSE_POLICY, "frames must be JSON"
                return
            if not isinstance(msg, dict) or msg.get("type") != "ping":
                self.close_code, self.close_reason = CLOSE_POLICY, 'the only client frame is {"type": "ping"}'
                return
            beat = {"type": "heartbeat", "offset": offsets.format(self.floor), "at": iso(utc_now())}
            # Through the queue, so it never interleaves with a frame being written.
            self.sub.offer(-1, orjson.dumps(beat).decode(), snapshot=True)
