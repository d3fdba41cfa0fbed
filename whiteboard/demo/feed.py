"""`serve --demo`: seed synthetic wards once, then keep a gentle simulated feed flowing.

The feed goes through `ingest` exactly like a nurse's PATCH (parsed, validated, committed, audited,
appended), so the demo exercises the real write path rather than a shortcut.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from pathlib import Path

from sqlalchemy.engine import make_url

from whiteboard.demo.changes import random_change
from whiteboard.demo.synthetic import demo_wards
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.clock import utc_now
from whiteboard.errors import ApiError
from whiteboard.state import State
from whiteboard.store import PRIVATE_FILE_MODE, Actor, StoreUnavailable, WriteRequest

log = logging.getLogger("whiteboard.demo")

FEED_ACTOR = Actor(name="Demo feed", role="nurse", source="demo")
SEED_ACTOR = Actor(name="Demo seeder", role="admin", source="demo")


async def seed(state: State, rng: random.Random) -> list[str]:
    """Create the demo wards when the database has none; a restart keeps what is there."""
    if await state.store.list_wards():
        return []
    wards = demo_wards(rng, utc_now())
    created = await state.store.add_wards(
        ((w.id, w.name, [(b["id"], b["bay"]) for b in w.beds]) for w in wards), actor=SEED_ACTOR
    )
    for i, ward in enumerate(wards):
        if ward.id in created:
            await state.store.seed_beds(ward.id, list(ward.beds), SEED_ACTOR)
        log.info("seeded demo ward %s (%d/%d, %d beds)", ward.id, i + 1, len(wards), len(ward.beds))
    return created


def tokens_file(database_url: str) -> Path:
    """Beside the SQLite file (or in the working directory for a server database)."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite") and url.database:
        return Path(url.database).resolve().with_suffix(".demo-tokens.txt")
    return Path("whiteboard.demo.feed-tokens.txt").resolve()


async def demo_credentials(state: State, first_ward: str) -> Path:
    """Write sign-in tokens for the demo to a private file (never to the log)."""
    path = tokens_file(state.settings.database_url)
    if path.exists():
        return path
    lines = ["# Demo credentials for Ward Whiteboard. Synthetic data only; delete this file to get new ones."]
    for role, wards in (("admin", None), ("nurse", (first_ward,)), ("display", (first_ward,)), ("ops", None)):
        _, token = await state.store.create_credential(role, wards, f"demo {role}", actor=SEED_ACTOR)
        lines.append(f"{role:8} {token}")
    # Mode 0600 from the first byte, whatever the umask: these tokens open every demo ward.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), PRIVATE_FILE_MODE)
        f.write("\n".join(lines) + "\n")
    return path


class DemoFeed:
    def __init__(self, state: State) -> None:
        self._state = state
        seed_value = state.settings.demo_seed
        self._rng = random.Random(seed_value)
        self._task: asyncio.Task[None] | None = None
        self._seeded: frozenset[str] = frozenset()  # the wards the feed may move

    async def start(self) -> None:
        created = await seed(self._state, self._rng)
        # Fixed at start: seeding happens only here, so no later ward can be the demo's.
        self._seeded = frozenset(await self._state.store.wards_seeded_by(SEED_ACTOR.source))
        wards = await self._state.store.list_wards()
        if created:
            log.info("demo data seeded: %d wards", len(created))
        if wards and not self._seeded:
            log.warning("the database already had wards, so the demo seeded none and its feed moves nothing")
        if wards:
            first = next((w.id for w in wards if w.id in self._seeded), wards[0].id)
            path = await demo_credentials(self._state, first)
            log.info("demo sign-in tokens are in %s (admin, nurse, display, ops)", path)
        if self._state.settings.demo_rate > 0:
            self._task = asyncio.create_task(self._run(), name="demo-feed")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        interval = 60.0 / self._state.settings.demo_rate
        while True:
            await asyncio.sleep(self._rng.expovariate(1.0 / interval))
            try:
                await self.step()
            except (ApiError, StoreUnavailable) as exc:
                log.debug("demo change skipped: %s", exc)
            except Exception:
                log.exception("demo change failed")

    async def step(self) -> bool:
        """One simulated change, on a ward the demo seeded: a ward someone added for real is never touched."""
        wards = [w for w in await self._state.store.list_wards() if w.id in self._seeded]
        if not wards:
            return False
        ward = self._rng.choice(wards)
        ch = await self._state.hub.channel(ward.id)
        change = random_change(self._rng, list(ch.view.beds.values()), utc_now())
        if change is None:
            return False
        bed_id, body = change
        await self._state.ingest.submit(WriteRequest(ward.id, bed_id, parse_patch(body), FEED_ACTOR))
        return True
