"""The event log's interface: what every backend keeps.

A ward's log is a sequence of entries numbered by the ward's database sequence (`offsets.py`). The
contract every backend keeps (checked by one behaviour suite run against each):

- `append` is idempotent and gap-free: it accepts `seq` only when it is `top + 1` (or when the log is
  fresh, any `seq` starts it). A repeat answers `DUPLICATE`; a jump answers `GAP` with the top, and the
  caller appends the missing entries from the outbox first. So two instances relaying the same outbox
  never duplicate an entry and never reorder a ward.
- An epoch names one incarnation of a ward's log. When the log is lost (Redis restarted without
  persistence, an in-process log after a restart) the next append starts a new epoch; clients holding
  the old one cannot resume and get a fresh snapshot.
- `read` returns entries after a sequence number in order; whether they prove an unbroken history is
  decided by `recovery.is_recovered`, in one place for HTTP, WebSocket and the ward views alike.
- `tail` yields every entry appended after a sequence number, in order, for as long as it is iterated.
- `restart` replaces a log that lost confirmed entries with a fresh epoch (only if it is still as seen).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass

from whiteboard.domain import offsets


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    epoch: str
    payload: bytes  # the event, orjson-encoded once at write time

    @property
    def offset(self) -> str:
        return offsets.format(self.seq)


class AppendStatus(enum.Enum):
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    GAP = "gap"


@dataclass(frozen=True, slots=True)
class AppendResult:
    status: AppendStatus
    epoch: str
    top: int  # the log's last sequence number after the call


@dataclass(frozen=True, slots=True)
class Position:
    epoch: str
    top: int  # 0 for a log with no entries yet


class EventLogUnavailable(Exception):
    """The backing service does not answer; callers map this to 503 and retry later."""


class EventLog:
    """Base class for event-log backends; `name` is reported by /readyz."""

    name = "event log"

    async def connect(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    async def ping(self) -> None:
        """Raise EventLogUnavailable when the backend cannot serve."""
        raise NotImplementedError

    async def append(self, log: str, seq: int, payload: bytes) -> AppendResult:
        raise NotImplementedError

    async def position(self, log: str) -> Position:
        """The current epoch and top; creates the epoch of a log that has none yet."""
        raise NotImplementedError

    async def read(self, log: str, after: int, limit: int) -> tuple[str, list[Entry]]:
        """(epoch, up to `limit` entries with seq > after, in order)."""
        raise NotImplementedError

    def tail(self, log: str, after: int) -> AsyncIterator[Entry]:
        raise NotImplementedError

    @property
    def reconnects(self) -> int:
        """How often the backend lost its server or followed a failover so far; when it changes, the relay
        checks each ward's log against what it saw confirmed (entries may have been lost)."""
        return 0

    async def restart(self, log: str, epoch: str, top: int) -> Position:
        """Start a new epoch (empty, so the next append may start at any number) if the log is still at
        (`epoch`, `top`); returns the log's position after the call.

        For a log that lost entries the outbox had already seen confirmed (a failover to a replica that
        had not received them): continuing the same epoch would leave a silent gap for clients that
        replay, a new epoch makes them resync."""
        raise NotImplementedError
