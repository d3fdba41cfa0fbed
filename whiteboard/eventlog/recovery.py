"""Whether a list of log entries proves an unbroken history after a client's position.

One small pure function, used by the events endpoint, WebSocket resume and the ward views, so the
rule is written once (centrifuge's `isStreamRecovered`).
"""

from __future__ import annotations

from collections.abc import Sequence

from whiteboard.eventlog.base import Entry


def is_recovered(after: int, entries: Sequence[Entry], *, epoch: str, want_epoch: str | None, top: int) -> bool:
    """True when `entries` are exactly the events after `after` up to `top` (or a first page of them).

    `top` is the position the caller's view has reached; a client claiming to be past it, from
    another epoch, or before the oldest kept entry cannot be brought up to date by replay.
    """
    if want_epoch is not None and want_epoch != epoch:
        return False
    if after > top:
        return False
    if not entries:
        return after == top
    expected = after + 1
    for entry in entries:
        if entry.seq != expected or entry.epoch != epoch:
            return False
        expected += 1
    return True
