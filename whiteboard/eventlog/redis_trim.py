"""Trimming a ward's Redis stream by age (`RedisEventLog.trim_before`): single-key reads and one script on the
stream and its meta hash, which share a hash tag, so it works alike on one server, Sentinel's primary and a
Cluster.

The first entry at or after the cut-off is found by a binary search over `seq` (`XRANGE key s-0 + COUNT 1`,
`trim.first_kept`), then `XTRIM key MINID <seq>-0` drops what precedes it, in a script that first checks the
log is still the epoch whose entries were read (a `restart` in between made a new log, which this run leaves
alone). The meta hash (epoch and top) is untouched: a client whose position is before the first kept entry
is answered with a snapshot (`recovery.is_recovered` sees the missing entries).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from whiteboard.eventlog.redis_tail import entry_of
from whiteboard.eventlog.trim import first_kept, is_older

_TRIM = """
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then return -1 end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
"""


async def trim_stream(client: Any, stream: str, meta: str, cutoff: dt.datetime, *, dry_run: bool) -> int:
    """Drop the stream's entries written before `cutoff`; how many went (or, `dry_run`, would go)."""
    rows = await client.xrange(stream, min="-", max="+", count=1)
    if not rows:
        return 0
    first = entry_of(*rows[0])
    if not is_older(first.payload, cutoff):
        return 0  # the common case: one read

    async def probe(seq: int) -> tuple[int, bytes] | None:
        found = await client.xrange(stream, min=f"{seq}-0", max="+", count=1)
        if not found:
            return None
        entry = entry_of(*found[0])
        return entry.seq, entry.payload

    rows = await client.xrevrange(stream, max="+", min="-", count=1)
    last = entry_of(*rows[0])
    keep = last.seq + 1 if is_older(last.payload, cutoff) else await first_kept(first.seq, last.seq, cutoff, probe)
    if dry_run:
        return keep - first.seq  # an epoch's entries are contiguous
    removed = await client.eval(_TRIM, 2, stream, meta, first.epoch, f"{keep}-0")
    return max(0, int(removed))
