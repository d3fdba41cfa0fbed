"""Trimming a ward's log by age: which entries are older than a cut-off (retention, `live/retention.py`).

Every entry's payload is the event JSON the write built, with its time in `at` (store/writes.py, moves.py).
Entries are appended in sequence order and stamped as they are written, so their times rise with `seq`: the
first entry at or after a cut-off is found by a binary search over `seq`, a few reads even for a long log.
An entry without a readable time (none is written so) counts as new: it is kept, bounded by the log's
length cap and idle expiry like before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import orjson

from whiteboard.domain.clock import as_utc

# Reads one binary search makes at most: 2**64 entries; a 10,000-entry log needs 14.
MAX_PROBES = 64


def entry_time(payload: bytes) -> dt.datetime | None:
    """The event's `at`, or None when the payload carries no readable time."""
    try:
        event = orjson.loads(payload)
        at = event.get("at") if isinstance(event, dict) else None
        return as_utc(dt.datetime.fromisoformat(at)) if isinstance(at, str) else None
    except (orjson.JSONDecodeError, ValueError):
        return None


def is_older(payload: bytes, cutoff: dt.datetime) -> bool:
    """True when the entry was written before `cutoff` (an undated entry is not)."""
    at = entry_time(payload)
    return at is not None and at < cutoff


async def first_kept(
    first: int, last: int, cutoff: dt.datetime, probe: Callable[[int], Awaitable[tuple[int, bytes] | None]]
) -> int:
    """The smallest seq in `first..last + 1` whose entry is not older than `cutoff` (`last + 1`: none is).

    `probe(s)` answers the first entry with seq >= s as (seq, payload), or None when there is none; `first` is
    known to be older than the cut-off."""
    lo, hi = first + 1, last + 1
    for _ in range(MAX_PROBES):
        if lo >= hi:
            break
        mid = (lo + hi) // 2
        found = await probe(mid)
        if found is not None and is_older(found[1], cutoff):
            lo = found[0] + 1
        else:
            hi = mid
    return lo
