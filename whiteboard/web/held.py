"""Connections held by a credential, and the one task per process that ends them once it is revoked.

A board's WebSocket (`ws.Session`) and a FHIR Subscription's socket are both hub subscribers whose owner is a
`Held`: `recheck_forever` looks each distinct credential up once per period, however many connections hold it,
and ends the ones that may no longer read their ward. No timer or loop per connection.
"""

from __future__ import annotations

import asyncio
import logging

from whiteboard.access.auth import Principal
from whiteboard.eventlog import EventLogUnavailable
from whiteboard.state import State
from whiteboard.store import StoreUnavailable

log = logging.getLogger("whiteboard.ws")


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


def held_connections(state: State) -> list[Held]:
    """Every connection this instance holds for a credential: board WebSockets and FHIR Subscription sockets."""
    return [
        sub.owner for ch in tuple(state.hub.channels.values()) for sub in tuple(ch.subscribers)
        if isinstance(sub.owner, Held)
    ]  # fmt: skip


async def recheck(state: State) -> None:
    verdicts: dict[str | None, Principal | None] = {}
    for held in held_connections(state):
        if held.token not in verdicts:
            verdicts[held.token] = await state.auth.authenticate(held.token)
        who = verdicts[held.token]
        if who is None or not who.can_read_ward(held.ward_id):
            if held.revoke():
                state.metrics.ws_closed.labels("revoked").inc()
                log.info("closing connection of revoked credential %s on %s", held.credential_id, held.ward_id)


class Held:
    """A live connection held by a credential: the hub's subscriber names it as its owner, and `recheck_forever`
    ends it once that credential no longer reads its ward."""

    token: str | None
    ward_id: str
    credential_id: str

    def revoke(self) -> bool:
        """End the connection: its credential was revoked or narrowed. False if it was already ending."""
        raise NotImplementedError

    def end(self, code: int, reason: str) -> bool:
        """Close it with `code` from outside its handler (a slow client, a restart). False if already ending."""
        raise NotImplementedError
