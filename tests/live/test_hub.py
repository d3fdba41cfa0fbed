"""Fan-out inside one instance, over a real store and real event logs (both backends)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest

from tests.support import SETUP
from whiteboard.domain.beds import parse_patch
from whiteboard.eventlog import EventLog, open_event_log
from whiteboard.live.hub import Hub, OutFrame, Subscriber
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Actor, Store, WriteRequest

NURSE = Actor("RN Hub", "nurse", "c1")


@pytest.fixture
async def parts(
    request: pytest.FixtureRequest, store: Store, eventlog_url: str
) -> AsyncIterator[tuple[Store, EventLog, Hub, Ingest, str]]:
    prefix = request.getfixturevalue("redis_prefix") if eventlog_url.startswith("redis") else "wb"
    log = open_event_log(eventlog_url, key_prefix=prefix)
    await log.connect()
    metrics = Metrics()
    hub = Hub(store, log, metrics, queue_size=8)
    ingest = Ingest(store, log, metrics, Settings())
    await ingest.start()
    ward = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward, ward, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP)
    yield store, log, hub, ingest, ward
    await ingest.aclose()
    await hub.aclose()
    await log.aclose()


async def write(ingest: Ingest, ward: str, body: dict[str, object]) -> int:
    return (await ingest.submit(WriteRequest(ward, "B1", parse_patch(body), NURSE))).seq


def queue(sub: Subscriber) -> asyncio.Queue[tuple[int, OutFrame, bool]]:
    assert sub.queue is not None, "a subscriber that has not gone live keeps its queue"
    return sub.queue


async def frames(sub: Subscriber, n: int) -> list[OutFrame]:
    return [(await asyncio.wait_for(queue(sub).get(), 10))[1] for _ in range(n)]


async def test_one_reader_per_ward_and_one_encoding_per_audience(
    parts: tuple[Store, EventLog, Hub, Ingest, str],
) -> None:
    _, _, hub, ingest, ward = parts
    channels = await asyncio.gather(*(hub.channel(ward) for _ in range(5)))
    assert all(ch is channels[0] for ch in channels)  # concurrent first use loads the ward once
    ch = channels[0]
    staff = [hub.subscribe(ch, "nurse", lambda: None) for _ in range(3)]
    boards = [hub.subscribe(ch, "display", lambda: None) for _ in range(2)]
    readers = [t for t in asyncio.all_tasks() if t.get_name() == f"ward-reader:{ward}"]
    assert len(readers) == 1

    await write(ingest, ward, {"patient": {"name": "Edith Cavell"}})
    staff_frames = [(await frames(s, 1))[0] for s in staff]
    board_frames = [(await frames(b, 1))[0] for b in boards]
    assert all(f is staff_frames[0] for f in staff_frames)  # the very same frame object, encoded once
    assert all(f is board_frames[0] for f in board_frames)
    assert "Edith Cavell" in staff_frames[0].text and "Edith Cavell" not in board_frames[0].text
    assert orjson.loads(board_frames[0].data)["event"]["changes"]["patient"]["initials"] == "E.C."


async def test_a_full_queue_marks_only_that_subscriber(parts: tuple[Store, EventLog, Hub, Ingest, str]) -> None:
    _, _, hub, ingest, ward = parts
    ch = await hub.channel(ward)
    overflowed: list[str] = []
    slow = hub.subscribe(ch, "nurse", lambda: overflowed.append("slow"))
    fast = hub.subscribe(ch, "nurse", lambda: overflowed.append("fast"))
    got: list[int] = []

    async def drain() -> None:
        while len(got) < 12:
            seq, _, _ = await queue(fast).get()
            got.append(seq)

    drainer = asyncio.create_task(drain())
    for i in range(12):
        await write(ingest, ward, {"notes": f"n{i}"})
    await asyncio.wait_for(drainer, 10)
    assert got == list(range(1, 13))
    assert overflowed == ["slow"] and slow.overflowed and not fast.overflowed
    assert queue(slow).qsize() == 8  # bounded: nothing more was queued for it


async def test_view_follows_the_log_and_wait_for_reads_our_writes(
    parts: tuple[Store, EventLog, Hub, Ingest, str],
) -> None:
    store, _, hub, ingest, ward = parts
    ch = await hub.channel(ward)
    seq = await write(ingest, ward, {"status": "blocked", "notes": "Broken rail"})
    assert await ch.wait_for(seq, 5)
    assert ch.view.beds["B1"]["status"] == "blocked"
    state = await store.load_ward(ward)
    assert state is not None and ch.view.seq == state.seq
    assert not await ch.wait_for(seq + 1, 0.05)  # nothing more is coming: a bounded wait
