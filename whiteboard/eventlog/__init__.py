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
from whiteboard.eventlog.redis import RedisEventLog

__all__ = [
    "AppendResult",
    "AppendStatus",
    "Entry",
    "EventLog",
    "EventLogUnavailable",
    "Position",
    "open_event_log",
]


def open_event_log(url: str, *, key_prefix: str = "wb", maxlen: int = 10_000) -> EventLog:
    """Choose a backend by URL scheme."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        return MemoryEventLog(maxlen=maxlen)
    if scheme in {"redis", "rediss", "unix"}:
        return RedisEventLog(url, key_prefix=key_prefix, maxlen=maxlen)
    raise ValueError(f"unknown event log URL scheme {scheme!r}: use memory:// or redis://host:port/db")
