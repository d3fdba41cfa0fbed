"""The write path and its relay, in-process over real stores and real event logs.

Nothing committed may stay out of the log, and nothing may appear in it twice: after a crash between
commit and append, after two instances race, and across an event-log outage (a real redis-server
that this test starts and stops).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator

import orjson
import pytest

from tests.support import SETUP, free_port
from whiteboard.domain import redact
from whiteboard.domain.beds import parse_patch
from whiteboard.domain.board import WardState, WardView
from whiteboard.eventlog import EventLog, open_event_log
from whiteboard.live.ingest import Ingest
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Actor, Store, WriteRequest

NURSE = Actor("RN Relay", "nurse", "c1")


@pytest.fixture
async def elog(request: pytest.FixtureRequest, eventlog_url: str) -> AsyncIterator[EventLog]:
    prefix = request.getfixturevalue("redis_prefix") if eventlog_url.startswith("redis") else "wb"
    log = open_event_log(eventlog_url, key_prefix=prefix)
    await log.connect()
    yield log
    await log.aclose()


async def make_ward(store: Store) -> tuple[str, str]:
    ward = "w-" + uuid.uuid4().hex[:8]
    await store.add_wards([(ward, ward, [("B1", "Bay 1"), ("B2", "Bay 1")])], actor=SETUP)
    state = await store.load_ward(ward)
    assert state is not None
    return ward, state.log


def request(ward: str, notes: str) -> WriteRequest:
    return WriteRequest(ward, "B1", parse_patch({"notes": notes}), NURSE)


async def started(store: Store, log: EventLog, **kw: object) -> Ingest:
    ingest = Ingest(store, log, Metrics(), Settings(**{"outbox_sweep_secs": 0.05, **kw}))  # type: ignore[arg-type]
    await ingest.start()
    return ingest


async def log_seqs(log: EventLog, name: str) -> list[int]:
    _, entries = await log.read(name, 0, 10_000)
    return [e.seq for e in entries]


async def eventually(check: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            if await check():  # type: ignore[operator]
                return
        except Exception:  # a backend still coming back: keep waiting
            pass
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def test_submit_commits_then_appends_in_order(store: Store, elog: EventLog) -> None:
    ward, name = await make_ward(store)
    ingest = await started(store, elog)
    try:
        results = await asyncio.gather(*(ingest.submit(request(ward, f"n{i}")) for i in range(20)))
        assert sorted(r.seq for r in results) == list(range(1, 21))
        await eventually(lambda: _equals(log_seqs(elog, name), list(range(1, 21))))
        await eventually(lambda: _equals(_outbox(store, ward), []))  # swept once in the log
    finally:
        await ingest.aclose()


async def test_a_discharge_relays_the_cleared_notes_to_staff_boards_and_never_to_displays(
    store: Store, elog: EventLog
) -> None:
    """Hazard H60 end to end: the committed change, the log's event, a board's view of it, a display's copy."""
    ward, name = await make_ward(store)
    view = WardView(await _state(store, ward), "e")
    ingest = await started(store, elog)
    try:
        body = {"patient": {"name": "Ada Lovelace"}, "notes": "Daughter calling at 3"}
        await ingest.submit(WriteRequest(ward, "B1", parse_patch(body), NURSE))
        gone = await ingest.submit(WriteRequest(ward, "B1", parse_patch({"patient": None}), NURSE))
        await eventually(lambda: _equals(log_seqs(elog, name), [1, 2]))
    finally:
        await ingest.aclose()
    _, entries = await elog.read(name, 0, 10)
    for entry in entries:
        view.apply(entry.seq, orjson.loads(entry.payload))
    event = orjson.loads(entries[-1].payload)
    assert event["kind"] == "patient.discharged" and event["changes"]["notes"] == "" and gone.seq == 2
    assert view.beds["B1"]["notes"] == "" and view.beds["B1"]["patient"] is None
    assert (await _state(store, ward)).beds[0]["notes"] == ""  # the store and the board agree
    display = view.audience_for("display")
    admitted = orjson.loads(entries[0].payload)
    assert admitted["changes"]["notes"] == "Daughter calling at 3"  # staff see them
    for shown in (redact.event(admitted, display), redact.event(event, display)):
        assert "notes" not in shown["changes"] and "Daughter" not in str(shown)


async def _state(store: Store, ward: str) -> WardState:
    state = await store.load_ward(ward)
    assert state is not None
    return state


async def _equals(coro: Awaitable[object], expected: object) -> bool:
    return bool(await coro == expected)


async def _outbox(store: Store, ward: str) -> list[int]:
    return [r.seq for r in await store.outbox_rows(ward, 0, 10_000)]


async def test_commits_that_never_reached_the_log_are_relayed_at_start(store: Store, elog: EventLog) -> None:
    """What a crash between COMMIT and append leaves behind: outbox rows only. The relay resumes from them."""
    ward, name = await make_ward(store)
    await store.apply_batch([request(ward, "a"), request(ward, "b"), request(ward, "c")])
    assert await log_seqs(elog, name) == []
    ingest = await started(store, elog)
    try:
        assert await log_seqs(elog, name) == [1, 2, 3]
        await ingest.sweep()
        assert await log_seqs(elog, name) == [1, 2, 3]  # a second sweep duplicates nothing
        assert await _outbox(store, ward) == []
    finally:
        await ingest.aclose()


async def test_a_gap_is_filled_from_the_outbox(store: Store, elog: EventLog) -> None:
    """Another instance committed seq 1 but has not appended it yet; our seq 2 must not overtake it."""
    ward, name = await make_ward(store)
    ingest = await started(store, elog, outbox_sweep_secs=3600)  # no sweeper help: the relay must do it
    try:
        await ingest.submit(request(ward, "mine first"))
        await eventually(lambda: _equals(log_seqs(elog, name), [1]))
        await store.apply_batch([request(ward, "other instance")])  # seq 2: committed, not appended
        written = await ingest.submit(request(ward, "mine again"))  # seq 3
        assert written.seq == 3
        await eventually(lambda: _equals(log_seqs(elog, name), [1, 2, 3]))
    finally:
        await ingest.aclose()


async def test_two_instances_relaying_one_outbox_never_duplicate(store: Store, elog: EventLog) -> None:
    ward, name = await make_ward(store)
    a, b = await started(store, elog), await started(store, elog)
    try:
        await asyncio.gather(
            *(a.submit(request(ward, f"a{i}")) for i in range(15)),
            *(b.submit(request(ward, f"b{i}")) for i in range(15)),
        )
        await asyncio.gather(a.sweep(), b.sweep())
        await eventually(lambda: _equals(log_seqs(elog, name), list(range(1, 31))))
    finally:
        await a.aclose()
        await b.aclose()


@pytest.fixture
def own_redis() -> Iterator[tuple[int, subprocess.Popen[bytes] | None]]:
    """A redis-server of this test's own, so it can be stopped and started again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/test, which installs it with apt")
    port = free_port()
    holder: list[subprocess.Popen[bytes] | None] = [None]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        holder[0] = proc
        return proc

    start()
    yield port, holder[0]
    for proc in holder:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)


async def test_event_log_outage_keeps_writes_and_relays_them_later(store: Store, own_redis: tuple[int, object]) -> None:
    port, proc = own_redis
    log = open_event_log(f"redis://127.0.0.1:{port}/0", key_prefix="outage")
    await log.connect()
    await eventually(lambda: _ping(log))
    ward, name = await make_ward(store)
    ingest = await started(store, log)
    try:
        await ingest.submit(request(ward, "before"))
        await eventually(lambda: _equals(log_seqs(log, name), [1]))
        proc.terminate()  # type: ignore[attr-defined]
        proc.wait(5)  # type: ignore[attr-defined]
        during = [await ingest.submit(request(ward, f"during {i}")) for i in range(3)]
        assert [w.seq for w in during] == [2, 3, 4]  # durable and acknowledged while the log is down
        # 2-4 wait in the outbox (1 may still be there too: it is deleted by the sweep after its append).
        assert (await _outbox(store, ward))[-3:] == [2, 3, 4]
        restarted = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # The restarted Redis lost everything: a new epoch starts at the first relayed change.
            async def relayed() -> bool:
                seqs = await log_seqs(log, name)
                return seqs in ([1, 2, 3, 4], [2, 3, 4])

            await eventually(relayed, timeout=20)
            await eventually(lambda: _equals(_outbox(store, ward), []))
        finally:
            restarted.kill()
            restarted.wait(5)
    finally:
        await ingest.aclose()
        await log.aclose()


async def _ping(log: EventLog) -> bool:
    try:
        await log.ping()
        return True
    except Exception:
        return False
