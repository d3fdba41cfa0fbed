"""Time as the ward's records carry it: aware UTC, written with milliseconds and a Z."""

from __future__ import annotations

import datetime as dt
from typing import overload


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(ts: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(ts: None) -> None: ...
def as_utc(ts: dt.datetime | None) -> dt.datetime | None:
    """The same instant in UTC, a naive time read as UTC: SQLite gives datetimes back without their zone, and
    everything the server stores is UTC (the one place that rule is written)."""
    if ts is None:
        return None
    return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)


def iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
