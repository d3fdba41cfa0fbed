"""`whiteboard retention purge`: purge discharged patients' identifiers after the retention period, and trim the
event log's older events, now."""

from __future__ import annotations

import datetime as dt

import click

from whiteboard.cli.common import DB_OPTION, fail, load_settings, with_store
from whiteboard.cli.options import setting_option
from whiteboard.domain.clock import utc_now
from whiteboard.eventlog import EventLogUnavailable, open_event_log
from whiteboard.live.retention import TrimReport, trim_logs
from whiteboard.settings import mask_url
from whiteboard.store import Store
from whiteboard.store.retention import PurgeReport

MAX_RUNS = 10_000  # batches of 200 patients: two million, more than any trust discharges in a retention period


@click.group()
def retention() -> None:
    """Retention of discharged patients' identifiers (WHITEBOARD_RETENTION_DAYS)."""


@retention.command("purge")
@click.option("--days", type=click.IntRange(min=1), help="Override WHITEBOARD_RETENTION_DAYS for this run.")
@click.option("--dry-run", is_flag=True, help="Count what would be purged and trimmed; change nothing.")
@DB_OPTION
@setting_option("redis_url")
@setting_option("redis_key_prefix")
def purge(days: int | None, dry_run: bool, database_url: str, redis_url: str | None, redis_key_prefix: str) -> None:
    """Purge the names, NHS numbers, dates of birth and free text of patients who left their bed more than the
    retention period ago, from the audit trail's records (kept, still verifiable), the observation history and
    the feed tables; and drop every ward's event-log entries written more than the period ago (Redis; the
    in-process log lives in the server, which trims it itself). A running server does both every
    WHITEBOARD_RETENTION_SWEEP_SECS by itself."""
    days = days or load_settings().retention_days
    if days is None:
        fail("no retention period: set WHITEBOARD_RETENTION_DAYS or pass --days N")
    now = utc_now()

    async def run(store: Store) -> tuple[PurgeReport, TrimReport | None, str | None]:
        """Every batch until nobody due is left (a dry run counts them all at once), then the logs' trim."""
        total = PurgeReport()
        for _ in range(MAX_RUNS):
            report = await store.purge_identifiers(days, dry_run=dry_run, now=now)
            for name in ("patients", "audit_records", "observations", "feed_messages", "feed_cancels"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.remaining = report.remaining
            if dry_run or not report.remaining:
                break
        if not redis_url:
            return total, None, None
        try:
            eventlog = open_event_log(redis_url, key_prefix=redis_key_prefix)
        except ValueError as exc:
            return total, None, str(exc)
        try:
            await eventlog.connect()
            await eventlog.ping()  # an unreachable Redis is one clear error, not every ward failing in turn
            return total, await trim_logs(store, eventlog, days, now=now, dry_run=dry_run), None
        except EventLogUnavailable as exc:
            return total, None, str(exc)
        finally:
            await eventlog.aclose()

    report, trim, error = with_store(database_url, run)
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb}: {report.patients} patients discharged over {days} days ago; {report.audit_records} audit records "
        f"(kept, identifiers removed), {report.observations} observation sets, {report.feed_messages} feed receipts, "
        f"{report.feed_cancels} pending cancels"
        + (f"; {report.remaining} still due: run it again" if report.remaining else "")
    )
    _echo_trim(trim, error, redis_url, days, dry_run, now)


def _echo_trim(
    trim: TrimReport | None, error: str | None, redis_url: str | None, days: int, dry_run: bool, now: dt.datetime
) -> None:
    if error is not None:
        fail(
            f"the event log at {mask_url(redis_url or '')} was not trimmed: {error}\n"
            "The database part is done; run the command again once Redis answers (a running server also retries)."
        )
    if trim is None:
        click.echo("event log: in-process (no WHITEBOARD_REDIS_URL): the running server trims it itself")
        return
    verb = "would drop" if dry_run else "dropped"
    cutoff = (now - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M UTC")
    click.echo(f"event log: {verb} {trim.entries} entries written before {cutoff} from {len(trim.wards)} ward logs")
    if trim.failed:
        fail(f"the event log of {len(trim.failed)} ward(s) did not answer ({', '.join(trim.failed[:5])}): run it again")
