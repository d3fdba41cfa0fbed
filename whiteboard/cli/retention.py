"""`whiteboard retention purge`: purge discharged patients' identifiers after the retention period, now."""

from __future__ import annotations

import click

from whiteboard.cli.common import DB_OPTION, fail, load_settings, with_store
from whiteboard.store import Store
from whiteboard.store.retention import PurgeReport


@click.group()
def retention() -> None:
    """Retention of discharged patients' identifiers (WHITEBOARD_RETENTION_DAYS)."""


@retention.command("purge")
@click.option("--days", type=click.IntRange(min=1), help="Override WHITEBOARD_RETENTION_DAYS for this run.")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@DB_OPTION
def purge(days: int | None, dry_run: bool, database_url: str) -> None:
    """Purge the names, NHS numbers, dates of birth and free text of patients who left their bed more than the
    retention period ago, from the audit trail's records (kept, still verifiable), the observation history and
    the feed tables. A running server does this every WHITEBOARD_RETENTION_SWEEP_SECS by itself."""
    days = days or load_settings().retention_days
    if days is None:
        fail("no retention period: set WHITEBOARD_RETENTION_DAYS or pass --days N")

    async def run(store: Store) -> PurgeReport:
        return await store.purge_identifiers(days, dry_run=dry_run)

    report = with_store(database_url, run)
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb}: {report.patients} patients discharged over {days} days ago; {report.audit_records} audit records "
        f"(kept, identifiers removed), {report.observations} observation sets, {report.feed_messages} feed receipts, "
        f"{report.feed_cancels} pending cancels"
    )
