"""`/ws/wards/{ward}`: snapshot or resume, then live events, heartbeats and the contract's close codes.

The subscriber is registered with the hub *before* the snapshot is taken or the replay read, so no
event can fall between them; anything queued at or below what the client already has is skipped by
offset (zulip's "create the queue first, then fetch the state").

Once live, a connection costs one task (this handler, waiting for the client's frames) and one transport
write per event: the hub writes the shared encoded frame itself (`protocols.FRAME_WRITER`), the hub's one
ticker sends heartbeats, and one task per process (`recheck_forever`) re-checks every open connection's
credential, once per distinct credential. A connection is ended from outside (slow, revoked) by cancelling
its handler, which then closes it with the code it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from whiteboard.access.auth import Principal
from whiteboard.domain import offsets
from whiteboard.domain.clock import iso, utc_now
from whiteboard.errors import ApiError, Unavailable
from whiteboard.eventlog import EventLogUnavailable, recovery
from whiteboard.live.hub import CLOSE_SLOW_CLIENT, OutFrame, Subscriber, WardChannel, event_frame
from whiteboard.state import State, wb
from whiteboard.store import StoreUnavailable
from whiteboard.web.http import audit_read, credential_token, error_response, log_refusal
from whiteboard.web.protocols import FRAME_WRITER, text_frame

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
    if state.draining:  # an upgrade on a connection opened before SIGTERM: go elsewhere, resume there
        await ws.send_denial_response(error_response(Unavailable("this server is shutting down; reconnect")))
        return
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
    await Session(ws, state, ch, who).run()


def direct_writer(ws: WebSocket, limit: int) -> Callable[[OutFrame], bool] | None:
    """The hub's one-write path to this connection, when the server offers it (else frames go through ASGI)."""
    write = ws.scope.get("extensions", {}).get(FRAME_WRITER)
    if write is None:
        return None

    def send(frame: OutFrame) -> bool:
        wire = frame.wire
        if wire is None:
            wire = frame.wire = text_frame(frame.data)
        return bool(write(wire) <= limit)

    return send


async def recheck_forever(state: State) -> None:
    """A revoked or narrowed credential loses its open connections within seconds, not at reconnect: one
    look-up per distinct credential per period, whatever the number of connections holding it."""
    every = max(state.settings.credential_cache_secs, 1.0)
    while True:
        await asyncio.sleep(every)
        try:
            await recheck(state)
        except (StoreUnavailable, EventLogUnavailable) as exc:
            log.warning("open connections not re-checked (will retry): %s", exc)


async def recheck(state: State) -> None:
    sessions = [
        sub.owner for ch in tuple(state.hub.channels.values()) for sub in tuple(ch.subscribers)
        if isinstance(sub.owner, Session)
    ]  # fmt: skip
    verdicts: dict[str | None, Principal | None] = {}
    for session in sessions:
        if session.token not in verdicts:
            verdicts[session.token] = await state.auth.authenticate(session.token)
        who = verdicts[session.token]
        if who is None or not who.can_read_ward(session.ch.view.id):
            if session.end(CLOSE_POLICY, "this credential was revoked; sign in again"):
                state.metrics.ws_closed.labels("revoked").inc()
                log.info(
                    "closing connection of revoked credential %s on %s", session.who.credential_id, session.ch.view.id
                )


class Session:
    def __init__(self, ws: WebSocket, state: State, ch: WardChannel, who: Principal) -> None:
        self.ws = ws
        self.state = state
        self.ch = ch
        self.who = who
        self.token, _ = credential_token(ws)
        self.close_code: int | None = None
        self.close_reason = ""
        self.task: asyncio.Task[object] | None = None
        self.ending = False
        self.sub: Subscriber = state.hub.subscribe(ch, who.role, self._overflow, owner=self)

    def _overflow(self) -> None:
        if self.end(CLOSE_SLOW_CLIENT, "too slow: resume from your last offset"):
            self.state.metrics.ws_closed.labels("slow_client").inc()
            log.info("closing slow client on %s (%s)", self.ch.view.id, self.who.credential_id)

    def end(self, code: int, reason: str) -> bool:
        """End this connection from outside its handler (hub, re-check); False if it is already ending."""
        if self.ending or self.task is None:
            return False
        self.ending = True
        self.close_code, self.close_reason = code, reason
        self.task.cancel()
        return True

    async def run(self) -> None:
        self.task = asyncio.current_task()
        writer: asyncio.Task[None] | None = None
        try:
            await self._start()
            if self.sub.overflowed:
                return
            limit = self.state.settings.ws_send_buffer_bytes
            direct = direct_writer(self.ws, limit)
            self.sub.go_live(self.sub.floor, direct)
            if direct is None:
                writer = asyncio.create_task(self._write_loop())
                writer.add_done_callback(lambda _: self.end(self.close_code or 1011, self.close_reason))
            await self._read_loop()
        except asyncio.CancelledError:
            if not self.ending:
                raise
            if self.task is not None:
                self.task.uncancel()  # we cancelled ourselves to stop reading; now close properly
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        except (EventLogUnavailable, StoreUnavailable):
            self.close_code, self.close_reason = 1011, "a backing service is unavailable; retry shortly"
        finally:
            self.ending = True
            self.state.hub.unsubscribe(self.ch, self.sub)
            if writer is not None and not writer.done():
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
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
        client_epoch = params.get("epoch")
        recovered = (client_epoch is None or client_epoch == epoch) and after <= top
        frames: list[str] = []
        cursor = after
        while recovered and cursor < top:
            log_epoch, page = await self.state.eventlog.read(view.log, cursor, REPLAY_PAGE)
            page = [e for e in page if e.seq <= top]
            # `cursor` is a position in the view's epoch: a log that answers in another was lost and restarted.
            if not page or not recovery.is_recovered(cursor, page, log_epoch=log_epoch, after_epoch=epoch, top=top):
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
        self.sub.floor = top
        await self.ws.send_text(
            orjson.dumps({"type": "resumed", "epoch": epoch, "offset": offsets.format(top), "recovered": True}).decode()
        )
        self.state.metrics.resumes.labels("replayed").inc()

    async def _send_snapshot(self, *, recovered: bool | None) -> None:
        view = self.ch.view
        self.sub.floor = view.seq
        await self.ws.send_text(view.snapshot_frame(self.sub.audience, recovered=recovered))

    async def _write_loop(self) -> None:
        """Without a direct writer (another ASGI server, or compression negotiated): frames through ASGI `send`."""
        while True:
            frame = await self.sub.take()
            if frame is not None:
                await self.ws.send_text(frame.text)

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
            beat = {"type": "heartbeat", "offset": offsets.format(self.sub.floor), "at": iso(utc_now())}
            # Through the subscriber, so it never interleaves with a frame being written.
            self.sub.offer(-1, OutFrame(orjson.dumps(beat)), snapshot=True)
