"""FHIR Subscriptions over a websocket (R4 Subscriptions Backport IG): create a Subscription, get a binding token
(`$get-ws-binding-token`), open /fhir/ws and send `bind-with-token TOKEN`; the server answers with a handshake,
then an event-notification Bundle for every change of the ward's beds and a heartbeat when nothing happens.

Fed by the same event log as the boards: the socket is a hub subscriber of the ward, so it gets every committed
change in order, filtered for its credential's audience (a display's notifications name no patient).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from typing import Final

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from whiteboard.access.auth import Principal, forbidden
from whiteboard.domain.clock import iso, utc_now
from whiteboard.errors import ApiError
from whiteboard.eventlog import EventLogUnavailable
from whiteboard.feeds.fhir import model, notify
from whiteboard.feeds.fhir.outcome import FhirError
from whiteboard.feeds.fhir.resources import bed_location, bed_location_id, encounter, encounter_id
from whiteboard.live.hub import CLOSE_SLOW_CLIENT, Subscriber, WardChannel
from whiteboard.live.subscriptions import FhirSubscription
from whiteboard.state import State, wb
from whiteboard.store import StoreUnavailable
from whiteboard.types import JSONDict
from whiteboard.web.fhir.common import fhir_endpoint, fhir_response
from whiteboard.web.held import Held
from whiteboard.web.http import audit_read, credential_token, principal, read_json

log = logging.getLogger("whiteboard.fhir.subscriptions")

BIND_TIMEOUT_SECS: Final = 10.0  # a socket that does not bind soon is closed: it holds nothing for anyone
BIND_MESSAGE_MAX: Final = 200
CLOSE_POLICY: Final = 1008


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


async def _reader(request: Request) -> Principal:
    who = await principal(request)
    if not who.at_least("display"):
        raise forbidden("this credential sees no ward data")
    return who


@fhir_endpoint
async def create(request: Request) -> Response:
    """POST /fhir/Subscription: 201 with the active Subscription, or an OperationOutcome."""
    who = await _reader(request)
    state = wb(request)
    body = await read_json(request)
    covered = [w.id for w in await state.store.list_wards() if who.covers(w.id)]
    ward, content, heartbeat = notify.parse_subscription(body, covered)
    sub_id = secrets.token_hex(12)
    resource = notify.active_subscription(sub_id, body, ward, content, heartbeat)
    token, _ = credential_token(request)
    sub = FhirSubscription(
        sub_id, who.credential_id, who.role, ward, notify.BED_TOPIC, content, heartbeat, resource, who.name, token or ""
    )
    if not state.subscriptions.add(sub):
        raise FhirError(429, "throttled", "this credential holds as many Subscriptions as allowed; delete one first")
    return fhir_response(resource, 201, {"Location": f"{_base(request)}/Subscription/{sub_id}"})


def _own(request: Request, who: Principal) -> FhirSubscription:
    sub = wb(request).subscriptions.get(request.path_params["id"], who.credential_id)
    if sub is None:
        raise FhirError(404, "not-found", "no Subscription of this credential has that id")
    return sub


@fhir_endpoint
async def read(request: Request) -> Response:
    who = await _reader(request)
    return fhir_response(_own(request, who).resource)


@fhir_endpoint
async def binding_token(request: Request) -> Response:
    """$get-ws-binding-token: a single-use token, valid for a few minutes, that binds one socket."""
    who = await _reader(request)
    sub = _own(request, who)
    token, ttl = wb(request).subscriptions.mint_token(sub)
    expires = iso(utc_now() + dt.timedelta(seconds=ttl))
    scheme = "wss" if request.url.scheme == "https" else "ws"
    url = f"{scheme}://{request.url.netloc}/fhir/ws"
    return fhir_response(notify.binding_token(sub.id, token, expires, url))


async def socket(ws: WebSocket) -> None:
    """/fhir/ws: the binding token is the credential (it was got with one, and names the Subscription)."""
    state = wb(ws)
    await ws.accept()
    try:
        async with asyncio.timeout(BIND_TIMEOUT_SECS):
            text = await ws.receive_text()
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        await _close(ws, CLOSE_POLICY, "send bind-with-token TOKEN first")
        return
    verb, _, token = text.strip().partition(" ")
    sub = (
        state.subscriptions.redeem(token.strip())
        if verb == "bind-with-token" and len(text) < BIND_MESSAGE_MAX
        else None
    )
    if sub is None:
        await _close(ws, CLOSE_POLICY, "unknown or expired binding token: get one with $get-ws-binding-token")
        return
    try:
        ch = await state.hub.channel(sub.ward_id)
    except (ApiError, StoreUnavailable, EventLogUnavailable):
        await _close(ws, 1011, "the ward cannot be watched now; bind again shortly")
        return
    await _Notifier(ws, state, ch, sub).run()


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await ws.close(code=code, reason=reason)


class _Notifier(Held):
    def __init__(self, ws: WebSocket, state: State, ch: WardChannel, sub: FhirSubscription) -> None:
        self.ws, self.state, self.ch, self.sub = ws, state, ch, sub
        self.token, self.ward_id, self.credential_id = sub.token, sub.ward_id, sub.credential_id
        self.base = f"{'https' if ws.url.scheme == 'wss' else 'http'}://{ws.url.netloc}/fhir"
        self.close: tuple[int, str] = (1000, "")
        self.writer: asyncio.Task[None] | None = None
        # Its owner, so the process's one re-check task (`ws.recheck_forever`) ends it when the credential goes.
        self.hub_sub: Subscriber = state.hub.subscribe(ch, sub.role, self._overflow, owner=self)
        self.floor = ch.view.seq

    def revoke(self) -> bool:
        """The credential that created the Subscription was revoked or narrowed: the Subscription goes too."""
        self.state.subscriptions.subscriptions.pop(self.sub.id, None)
        return self.end(CLOSE_POLICY, "the credential of this Subscription was revoked")

    def end(self, code: int, reason: str) -> bool:
        if self.writer is None or self.writer.done():
            return False
        self.close = (code, reason)
        self.writer.cancel()
        return True

    def _overflow(self) -> None:
        self.end(CLOSE_SLOW_CLIENT, "too slow: bind again")

    async def run(self) -> None:
        reader: asyncio.Task[None] | None = None
        try:
            if self.sub.role != "display":  # staff notifications name the patient: audited like a board's snapshot
                detail: dict[str, object] = {"subscription": self.sub.id, "offset": self.ch.view.offset}
                await audit_read(self.ws, _as_principal(self.sub), self.sub.ward_id, "read.fhir_subscription", detail)
            await self._send(notify.notification(self.sub.id, "handshake", self.sub.events, iso(utc_now())))
            self.writer = asyncio.create_task(self._write_loop())
            reader = asyncio.create_task(self._read_loop())
            await asyncio.wait({self.writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        except (WebSocketDisconnect, RuntimeError, OSError, StoreUnavailable, EventLogUnavailable):
            pass
        finally:
            self.state.hub.unsubscribe(self.ch, self.hub_sub)
            for task in (self.writer, reader):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            await _close(self.ws, *self.close)

    async def _send(self, bundle: JSONDict) -> None:
        await self.ws.send_text(orjson.dumps(model.checked(bundle)).decode())

    async def _write_loop(self) -> None:
        queue = self.hub_sub.queue
        assert queue is not None, "a Subscription never goes live on the direct path: it reads its queue"
        while True:
            try:
                async with asyncio.timeout(self.sub.heartbeat_secs):
                    seq, frame, _snapshot = await queue.get()
            except TimeoutError:
                await self._send(notify.notification(self.sub.id, "heartbeat", self.sub.events, iso(utc_now())))
                continue
            if seq <= self.floor:
                continue
            self.floor = seq
            message = orjson.loads(frame.data)
            if message.get("type") != "event":
                continue  # a fresh snapshot (the log was lost): the next change notifies again
            await self._notify(message["event"])

    async def _notify(self, event: JSONDict) -> None:
        """One event-notification per change; a move within the ward (`also`) names both beds."""
        names = [str(event["bed"])] if event.get("bed") else []
        names += [str(b) for b in event.get("also") or {}]
        beds = [b for b in (self.ch.view.beds.get(n) for n in names) if b is not None]
        if not beds:
            return  # a ward-level change (the display profile): not a bed topic event
        self.sub.events += 1
        ward_id = self.ch.view.id
        identifiable = self.sub.role != "display"
        focus: list[str] = []
        resources: list[JSONDict] = []
        for bed in beds:
            focus.append(f"Location/{bed_location_id(ward_id, bed['id'])}")
            if self.sub.content == "full-resource":
                resources.append(bed_location(ward_id, bed))
        for bed in beds:
            if bed.get("patient"):
                focus.append(f"Encounter/{encounter_id(bed['patient'])}")
                if self.sub.content == "full-resource":
                    resources.append(encounter(ward_id, self.ch.view.name, bed, identifiable=identifiable))
        at = str(event.get("at") or iso(utc_now()))
        ids = focus if self.sub.content != "empty" else []
        bundle = notify.notification(self.sub.id, "event-notification", self.sub.events, at, focus=ids,
                                     resources=resources, base=self.base)  # fmt: skip
        await self._send(bundle)

    async def _read_loop(self) -> None:
        """After binding the client has nothing to say; it closing ends the subscription's socket."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if len(message.get("text") or message.get("bytes") or b"") > BIND_MESSAGE_MAX:
                self.close = (1009, "frames here are short")
                return


def _as_principal(sub: FhirSubscription) -> Principal:
    return Principal(sub.credential_id, sub.role, (sub.ward_id,), sub.name)
