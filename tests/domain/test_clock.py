"""Times as the records carry them: one rule for a time without a zone (it is UTC), one written form."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from whiteboard.domain.clock import as_utc, iso


def test_a_naive_time_is_read_as_utc() -> None:
    """What SQLite gives back for what the server stored in UTC."""
    got = as_utc(dt.datetime(2026, 11, 22, 9, 30))
    assert got == dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC) and got.tzinfo is dt.UTC


def test_an_aware_time_keeps_its_instant_in_utc() -> None:
    london_summer = dt.datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    got = as_utc(london_summer)
    assert got == london_summer and (got.hour, got.tzinfo) == (9, dt.UTC)


def test_none_stays_none() -> None:
    assert as_utc(None) is None


def test_the_written_form_is_utc_with_milliseconds() -> None:
    moment = dt.datetime(2026, 11, 22, 9, 30, 5, 123456, tzinfo=ZoneInfo("Europe/Paris"))
    assert iso(moment) == "2026-11-22T08:30:05.123Z"
