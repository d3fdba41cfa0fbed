"""The event log: one interface (`base`), one backend per technology (`memory`, `redis`), chosen by URL.

Backends import the interface from `base`; this module imports the backends (never the other way).
`recovery` decides whether entries prove an unbroken history.
May import: `whiteboard.domain`. Never the store, live, access or web.
"""

from __future__ import annotations

from whiteboard.eventlog.base import (
    AppendResult,
    AppendStatus,
    Entry,
    EventLog,
    EventLogUnavailable,
    Position,
)
from whiteboard.eventlog.memory import MemoryEventLog
from whiteboard.eventlog.redis import TAIL_STALL_SECS, RedisEventLog

__all__ = [
    "AppendResult",
    "AppendStatus",
    "Entry",
    "EventLog",
    "EventLogUnavailable",
    "Position",
    "open_event_log",
]


REDIS_SCHEMES = frozenset(
    {"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}
)


def open_event_log(
    url: str, *, key_prefix: str = "wb", maxlen: int = 10_000, tail_stall_secs: float = TAIL_STALL_SECS
) -> EventLog:
    """Choose a backend by URL scheme: one Redis server, Sentinel's primary or a Cluster (`redis_url`)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        return MemoryEventLog(maxlen=maxlen)
    if scheme in REDIS_SCHEMES:
        return RedisEventLog(url, key_prefix=key_prefix, maxlen=maxlen, tail_stall_secs=tail_stall_secs)
    raise ValueError(
        f"unknown event log URL scheme {scheme!r}: use memory:// or redis://host:port/db, "
        "redis+sentinel://h1:26379,h2:26379/SERVICE/DB or redis+cluster://h1:7000,h2:7001/"
    )
