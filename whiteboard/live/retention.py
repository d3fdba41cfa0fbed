"""Retention across both stores: the database purge (`store.retention`) and the event log's trim, so no event
older than the retention period survives in any ward's log, with names for staff audiences in it.

Here because it needs both: the store may not import the event log (pyproject.toml's layers). The log is
trimmed by event age (every entry written before the cut-off), not by discharge: the log is only a replay
buffer, and a client whose position is older than what is kept resumes with a snapshot. Run by the server
(`retain_forever`, every WHITEBOARD_RETENTION_SWEEP_SECS) and by `whiteboard retention purge`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from whiteboard.eventlog import EventLog, EventLogUnavailable
from whiteboard.store import Store
from whiteboard.store.retention import CATCH_UP_SECS

log = logging.getLogger("whiteboard.retention")


@dataclass
class TrimReport:
    """What a trim of every ward's log did (or, dry, would do): counts only."""

    entries: int = 0
    wards: dict[str, int] = field(default_factory=dict)  # ward id -> entries dropped, for wards that had any
    failed: list[str] = field(default_factory=list)  # wards whose log did not answer (tried again next run)


async def trim_logs(
    store: Store, eventlog: EventLog, days: int, *, now: dt.datetime, dry_run: bool = False
) -> TrimReport:
    """Drop every ward's log entries written more than `days` before `now`. A ward whose log does not answer
    is reported, not fatal: the others are still trimmed."""
    cutoff = now - dt.timedelta(days=days)
    report = TrimReport()
    for ward in await store.list_wards():
        try:
            dropped = await eventlog.trim_before(ward.log, cutoff, dry_run=dry_run)
            await asyncio.sleep(0)  # the in-process log answers without yielding: let boards run between wards
        except EventLogUnavailable:
            report.failed.append(ward.id)
            continue
        if dropped:
            report.wards[ward.id] = dropped
            report.entries += dropped
    return report


async def retain_forever(
    store: Store, eventlog: EventLog, days: int, every_secs: float, clock: Callable[[], dt.datetime]
) -> None:
    """The server's periodic retention (WHITEBOARD_RETENTION_DAYS): once at start-up, then every `every_secs`,
    the database purge and then the logs' trim. A failed run (a backend away) is logged and tried again next
    time; several instances may run it at once (a purged record names nobody to purge again, a trimmed log has
    nothing older to drop). A purge backlog drains in batches CATCH_UP_SECS apart; the logs are trimmed at
    most once per `every_secs` meanwhile."""
    trimmed_at: dt.datetime | None = None
    while True:
        pause = every_secs
        now = clock()
        try:
            purged = await store.purge_identifiers(days, now=now)
        except Exception:
            log.exception("retention: the purge failed; trying again in %.0f s", every_secs)
        else:
            if purged.patients or purged.feed_messages or purged.feed_cancels:
                log.info("retention: purged %s", purged.as_dict())
            if purged.remaining:  # a backlog (retention just switched on): the next batch soon, writes between
                pause = min(every_secs, CATCH_UP_SECS)
        if trimmed_at is None or (now - trimmed_at).total_seconds() >= every_secs:
            try:
                trim = await trim_logs(store, eventlog, days, now=now)
            except Exception:
                log.exception("retention: trimming the event log failed; trying again in %.0f s", every_secs)
            else:
                trimmed_at = now
                if trim.entries:
                    log.info("retention: dropped %d event-log entries older than %d days", trim.entries, days)
                if trim.failed:
                    log.warning("retention: the event log of %d ward(s) did not answer; next run", len(trim.failed))
        await asyncio.sleep(pause)
