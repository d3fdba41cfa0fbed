"""Offsets on the wire are `SEQ-0`: the ward's database sequence number in the shape of a Redis stream id.

Deriving the offset from the per-ward sequence that the write transaction allocates means the
database and every event-log backend agree on positions, appends are idempotent (the same change
always gets the same id) and a gap is visible as a missing number.
"""

from __future__ import annotations

import re

OFFSET_RE = re.compile(r"^(0|[1-9][0-9]{0,18})-(0|[1-9][0-9]{0,18})$")


class BadOffset(ValueError):
    """The text is not an offset of the form `A-B`."""


def parse(text: str) -> int:
    """Return the ward sequence number an offset names.

    Any `A-B` is accepted as an offset (the contract's shape); only `B == 0` can name one of our
    events, so `A-B` with `B > 0` lies just after event A.
    """
    m = OFFSET_RE.match(text)
    if m is None:
        raise BadOffset(f"{text!r} is not an offset: expected two non-negative integers like '12-0'")
    return int(m.group(1))


def format(seq: int) -> str:
    return f"{seq}-0"


def log_name(ward_id: str, ward_uid: str) -> str:
    """A ward's log is named by id and database incarnation, so a rebuilt database never meets old entries."""
    return f"{ward_id}:{ward_uid}"
