"""The one write path: every change, from a nurse's phone or (later) a hospital feed, comes through here.

1. `submit` queues a validated request; the writer task takes whatever has queued up (group commit)
   and runs it in one transaction that writes bed, audit row and outbox row per change.
2. After the commit the caller is answered ("saved" means durable), and the committed changes go, in
   order, to the relay, which appends them to the ward's event log.
3. The sweeper appends whatever committed changes never reached the log (a crash between commit and
   append, an event-log outage, another instance that died), then deletes outbox rows the log holds.
   Appends are idempotent and gap-checked (`eventlog`), so nothing is lost and nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from whiteboard.domain.beds import ReadRecord
from whiteboard.errors import ApiError, Unavailable
from whiteboard.eventlog import AppendStatus, EventLog, EventLogUnavailable
from whiteboard.metrics import Metrics
from whiteboard.settings import Settings
from whiteboard.store import Actor, OutboxRow, Store, StoreUnavailable, WriteRequest, Written

log = logging.getLogger("whiteboard.ingest")

CRASH_EXIT_CODE = 70
SHUTDOWN_STEP_SECS = 5.0
STOPPED_MID_SAVE = "this server stopped during the save, which may or may not have been kept: reload and check"
SWEEP_BATCH = 1000  # rows of one ward one sweep appends (a long event-log outage is caught up over several)
SHUTTING_DOWN = "this server is shutting down; nothing was saved, try again (another instance will answer)"


@dataclass(slots=True)
class _Pending:
    request: WriteRequest
    future: asyncio.Future[Written]
    started: float


class Ingest:
    def __init__(self, store: Store, eventlog: EventLog, metrics: Metrics, settings: Settings) -> None:
        self._store = store
        self._log = eventlog
        self._metrics = metrics
        self._settings = settings
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._relay_queue: asyncio.Queue[Written] = asyncio.Queue()
        self._tops: dict[str, int] = {}  # ward → highest seq known to be in the log (outbox rows ≤ it can go)
        self._known_top: dict[str, int] = {}  # ward → highest seq this instance saw in the log (kept across sweeps)
        self._logs: dict[str, str] = {}  # ward → its log's name, for the check after a reconnect
        self._reconnects_checked = 0  # the event log's reconnect count when the logs were last checked
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0  # a batch being committed or a change being appended: `settle` waits for it
        self._closing = False

    async def start(self) -> None:
        try:
            await self.sweep()  # resume the relay from the outbox before serving
        except (StoreUnavailable, EventLogUnavailable) as exc:
            # Serve anyway: committed changes wait in the outbox and the sweeper appends them later.
            log.error("outbox not relayed at start-up, will retry: %s", exc)
        self._tasks = [
            asyncio.create_task(self._writer(), name="ingest-writer"),
            asyncio.create_task(self._relay(), name="ingest-relay"),
            asyncio.create_task(self._sweeper(), name="ingest-sweeper"),
        ]

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing being committed, nothing committed that the relay has not tried to append."""
        return self._busy == 0 and self._queue.empty() and self._relay_queue.empty()

    async def settle(self, timeout: float) -> bool:
        """Wait (at most `timeout`) until every write taken so far is committed, answered and handed to the log.

        For a graceful shutdown: the instance has stopped taking connections, so the queue only drains.
        A change whose append failed stays in the outbox for the sweepers (this one's next start, or any other
        instance's). Returns whether it settled in time.
        """
        deadline = time.monotonic() + timeout
        while not self.idle:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def aclose(self) -> None:
        """Stop the tasks; every step is bounded, so a backend that stopped answering cannot hang a shutdown.

        Writes already taken are committed and answered first (`settle`); any still queued after that are
        answered 503 (nothing saved), never left waiting, and `submit` refuses new ones from now on."""
        self._closing = True
        if not await self.settle(SHUTDOWN_STEP_SECS):
            log.warning("shutdown: writes still in progress after %.0f s; stopping the write path", SHUTDOWN_STEP_SECS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                async with asyncio.timeout(SHUTDOWN_STEP_SECS):
                    await task
        # Best effort: hand the log what is committed, so a clean shutdown leaves no outbox behind (what
        # is left, the next start's sweep appends).
        with contextlib.suppress(Exception):
            async with asyncio.timeout(SHUTDOWN_STEP_SECS):
                while not self._relay_queue.empty():
                    await self._append(self._relay_queue.get_nowait())
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(Unavailable(SHUTTING_DOWN))

    async def audit_read(self, ward_id: str, actor: Actor, action: str, detail: dict[str, Any]) -> None:
        """Record that a person read identifiable data; returns once the record is durable."""
        await self.submit(WriteRequest(ward_id, None, ReadRecord(action, detail), actor))

    async def submit(self, request: WriteRequest) -> Written:
        """Commit one change; returns once it is durable. Raises ApiError for refused or unavailable."""
        if self._closing and not self._tasks_running():
            raise Unavailable(SHUTTING_DOWN)
        fut: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(request, fut, time.perf_counter()))
        return await fut

    def _tasks_running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    # --- writer: group commit ---

    async def _writer(self) -> None:
        max_batch = self._settings.write_batch_max
        while True:
            batch = [await self._queue.get()]
            while len(batch) < max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._busy += 1
            try:
                await self._commit(batch)
            except asyncio.CancelledError:
                # Stopped mid-transaction (a shutdown whose settling ran out of time): whether it committed is
                # unknown, so say so; never leave a caller waiting.
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(Unavailable(STOPPED_MID_SAVE))
                raise
            finally:
                self._busy -= 1

    async def _commit(self, batch: list[_Pending]) -> None:
        """One group commit: the batch's transaction, then every caller answered and every change queued to relay."""
        try:
            results = await self._store.apply_batch([p.request for p in batch])
        except StoreUnavailable as exc:
            log.error("database unavailable, %d writes refused: %s", len(batch), exc)
            self._metrics.backend_up.labels("database").set(0)
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(Unavailable("the database is unavailable; nothing was saved, try again"))
            self._metrics.writes.labels("unavailable").inc(len(batch))
            return
        except Exception as exc:
            log.exception("write batch failed; nothing was saved")
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        self._metrics.backend_up.labels("database").set(1)
        self._metrics.write_batch_size.observe(len(batch))
        if self._settings.test_crash_after_commit and any(
            isinstance(r, Written) and (r.event is not None or r.parts) for r in results
        ):
            log.critical("test hook: exiting between commit and event-log append")
            os._exit(CRASH_EXIT_CODE)
        now = time.perf_counter()
        for p, result in zip(batch, results, strict=True):
            if isinstance(result, ApiError):  # counted by reason where the HTTP layer answers it
                if not p.future.done():
                    p.future.set_exception(result)
                continue
            self._metrics.writes.labels("committed" if result.event or result.parts else "unchanged").inc()
            self._metrics.write_seconds.observe(now - p.started)
            for top in result.parts or (result,):  # a FHIR transaction's bed changes, each relayed
                for written in (top, *top.also):  # a transfer across wards writes to two logs
                    if written.payload is not None:
                        self._relay_queue.put_nowait(written)
            if not p.future.done():
                p.future.set_result(result)

    # --- relay: committed changes → event log, in order ---

    async def _relay(self) -> None:
        while True:
            written = await self._relay_queue.get()
            self._busy += 1
            try:
                await self._append(written)
            except EventLogUnavailable as exc:
                # The outbox keeps it; the sweeper retries once the log answers again.
                log.warning(
                    "event log unavailable; %s seq %d stays in the outbox: %s", written.ward_id, written.seq, exc
                )
                self._metrics.log_appends.labels("unavailable").inc()
            finally:
                self._busy -= 1

    async def _append(self, written: Written | OutboxRow) -> AppendStatus:
        """Append one committed change, after any earlier one of its ward this instance has not seen appended.

        Predecessors come first even into a fresh log (which accepts any first number): otherwise a
        change committed by another instance, but not yet relayed, would fall before the epoch's start.
        """
        known = self._known_top.get(written.ward_id, 0)
        if written.seq > known + 1:
            for row in await self._store.outbox_rows(written.ward_id, known, written.seq - 1):
                await self._append_one(row)
        return await self._append_one(written)

    async def _append_one(self, written: Written | OutboxRow) -> AppendStatus:
        assert written.payload is not None
        result = await self._log.append(written.log, written.seq, written.payload)
        if result.status is AppendStatus.GAP:
            # An earlier change of this ward is committed but not yet in the log (another writer, a
            # crash): append the missing ones from the outbox first, in order.
            rows = await self._store.outbox_rows(written.ward_id, result.top, written.seq - 1)
            held = _contiguous_suffix(rows, written.seq - 1)
            if len(held) < written.seq - 1 - result.top:
                # The outbox lacks rows between the log's top and this change: they were deleted because a
                # log confirmed holding them, so this log lost them (a failover to a replica that had not
                # received them, same epoch). Replaying around the hole would be a silent gap: a new epoch
                # makes every client resync, starting at the changes the outbox still holds.
                log.error(
                    "%s: the event log's top %d is behind what it had confirmed (seq %d needs %d..%d); "
                    "starting a new epoch so clients resync",
                    written.ward_id,
                    result.top,
                    written.seq,
                    result.top + 1,
                    written.seq - 1,
                )
                await self._log.restart(written.log, result.epoch, result.top)
                self._metrics.log_appends.labels("epoch_restarted").inc()
            for row in held:
                await self._log.append(row.log, row.seq, row.payload)
            result = await self._log.append(written.log, written.seq, written.payload)
            if result.status is AppendStatus.GAP:
                log.error(
                    "%s: cannot append seq %d, log top is %d and the outbox lacks the rows between",
                    written.ward_id,
                    written.seq,
                    result.top,
                )
        self._metrics.log_appends.labels(result.status.value).inc()
        if result.top > self._tops.get(written.ward_id, 0):
            self._tops[written.ward_id] = result.top
        if result.status is not AppendStatus.GAP and written.seq > self._known_top.get(written.ward_id, 0):
            self._known_top[written.ward_id] = written.seq
            self._logs[written.ward_id] = written.log
        return result.status

    # --- after a failover: the log checked against what it confirmed ---

    async def check_after_reconnect(self) -> int:
        """When the event log reconnected since the last check (a failover, a restart), compare each ward's
        log top with the highest change this instance saw it confirm; a log behind it whose outbox rows are
        gone lost confirmed entries (the new primary had not received them) and gets a new epoch now, so
        clients resync even before the ward's next change. Returns how many logs were restarted."""
        reconnects = self._log.reconnects
        if reconnects == self._reconnects_checked:
            return 0
        restarted = 0
        for ward, known in list(self._known_top.items()):
            name = self._logs.get(ward)
            if name is None:
                continue
            position = await self._log.position(name)
            if position.top >= known:
                continue  # the log kept everything this instance saw confirmed
            # This instance's view of the log was ahead of it: the sweep re-appends from the log's real top
            # whatever the outbox still holds (into a fresh log as a new epoch, or into this one).
            self._known_top[ward] = position.top
            if position.top == 0:
                continue  # a fresh log: already a new epoch
            rows = await self._store.outbox_rows(ward, position.top, known)
            if len(_contiguous_suffix(rows, known)) == known - position.top:
                continue  # the outbox still holds the missing changes: the sweep appends them, same epoch
            log.error(
                "%s: after a reconnect the event log's top is %d, it had confirmed %d; starting a new epoch so "
                "clients resync",
                ward,
                position.top,
                known,
            )
            await self._log.restart(name, position.epoch, position.top)
            self._tops.pop(ward, None)  # the rows still in the outbox go into the new epoch
            self._metrics.log_appends.labels("epoch_restarted").inc()
            restarted += 1
        self._reconnects_checked = reconnects
        return restarted

    # --- sweeper: nothing committed stays out of the log ---

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(self._settings.outbox_sweep_secs)
            try:
                await self.sweep(self._settings.outbox_sweep_secs)
            except (StoreUnavailable, EventLogUnavailable) as exc:
                log.warning("outbox sweep postponed: %s", exc)
            except Exception:
                log.exception("outbox sweep failed")

    async def sweep(self, min_age_secs: float = 0.0) -> int:
        """Append every outbox row the log lacks, then delete rows the log holds. Returns rows appended.

        Ward by ward, each under the ward's relay lease (`Store.outbox_lease`): with several instances, one
        sweeps a ward's backlog while the others skip it. The periodic sweep looks only at wards with a row
        older than `min_age_secs`: a fresh row is the live relay's (its own instance's), which appends it
        within milliseconds; sweeping it too would make every instance append every change.
        """
        await self.check_after_reconnect()
        appended = 0
        for ward_id, newest in await self._store.backlog_wards(min_age_secs):
            # Rows this instance saw confirmed in the log are not appended again, only deleted; a ward whose
            # old rows are all such needs no lease either (a lease and a read per busy ward every second, on
            # PostgreSQL, put tens of milliseconds on the p99 of 5,000 boards: docs/PERFORMANCE.md).
            after = max(self._tops.get(ward_id, 0), self._known_top.get(ward_id, 0))
            if after:
                self._tops[ward_id] = after
            if newest <= after:
                continue
            async with self._store.outbox_lease(ward_id) as mine:
                if not mine:
                    continue  # another instance is relaying this ward's backlog right now
                for row in await self._store.outbox_rows(ward_id, after, after + SWEEP_BATCH):
                    if await self._append(row) is AppendStatus.APPENDED:
                        appended += 1
        if appended:
            self._metrics.outbox_relayed.inc(appended)
            log.info("relayed %d committed change(s) from the outbox to the event log", appended)
        if self._tops:
            tops, self._tops = self._tops, {}
            try:
                await self._store.delete_outbox(tops)
            except Exception:
                for ward, top in tops.items():  # keep them for the next sweep
                    self._tops[ward] = max(top, self._tops.get(ward, 0))
                raise
        return appended


def _contiguous_suffix(rows: list[OutboxRow], upto: int) -> list[OutboxRow]:
    """The rows ending at `upto` with no number missing (all of them when the outbox has every one)."""
    ordered = sorted(rows, key=lambda r: r.seq)
    out: list[OutboxRow] = []
    expected = upto
    for row in reversed(ordered):
        if row.seq != expected:
            break
        out.append(row)
        expected -= 1
    out.reverse()
    return out
