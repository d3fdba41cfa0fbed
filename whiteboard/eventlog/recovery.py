"""Whether a list of log entries proves an unbroken history after a client's position.

One small pure function, used by the events endpoint, WebSocket resume and the ward views, so the
rule is written once (centrifuge's `isStreamRecovered`).
"""

from __future__ import annotations

from collections.abc import Sequence

from whiteboard.eventlog.base import Entry


def is_recovered(after: int, entries: Sequence[Entry], *, log_epoch: str, after_epoch: str | None, top: int) -> bool:
    """True when `entries` are exactly the events after `after` up to `top` (or a first page of them).

    `log_epoch` is the epoch the log answered with; `after_epoch` the one `after` is a position in (a client's
    `epoch`, or a ward view's own; None when the client did not say). `top` is the position the caller's view has
    reached: a position past it, in another epoch, or before the oldest kept entry cannot be brought up to date
    by replay.
    """
    if after_epoch is not None and after_epoch != log_epoch:
        return False
    if after > top:
        return False
    if not entries:
        return after == top
    expected = after + 1
    for entry in entries:
        if entry.seq != expected or entry.epoch != log_epoch:
            return False
        expected += 1
    return True
