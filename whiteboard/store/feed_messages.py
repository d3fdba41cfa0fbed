"""Feed messages applied once: each sender's MSH-10 with the ACKs it got, written in the change's transaction.

The receipt goes in a savepoint with the change itself, so either both are committed or neither is: a resend
finds the receipt and gets the same ACKs back without the change being applied again, and a message that was
refused (nothing written) leaves no receipt, so a resend is judged afresh against the board as it is then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from whiteboard.errors import ApiError
from whiteboard.store.models import FEED_MESSAGES as _F
from whiteboard.store.rows import FeedReceipt, WriteRequest, Written


def prior_acks(conn: Connection, receipt: FeedReceipt) -> tuple[str, ...] | None:
    """The ACKs this message got when it was first applied, or None if it never was."""
    acks = conn.execute(
        select(_F.c.acks).where(_F.c.sender == receipt.sender, _F.c.control_id == receipt.control_id)
    ).scalar_one_or_none()
    return None if acks is None else tuple(str(a) for a in acks)


def write_once(
    conn: Connection,
    req: WriteRequest,
    now: dt.datetime,
    write: Callable[[Connection, WriteRequest, dt.datetime], Written],
) -> Written:
    """`write(conn, req, now)` and the receipt together, unless the receipt is there already (a resend)."""
    receipt = req.receipt
    assert receipt is not None
    acks = prior_acks(conn, receipt)
    if acks is not None:
        return Written(req.ward_id, "", 0, None, None, prior_acks=acks)
    try:
        with conn.begin_nested():  # a refusal raised by `write` undoes whatever it wrote before raising
            written = write(conn, req, now)
            conn.execute(
                insert(_F).values(
                    sender=receipt.sender, control_id=receipt.control_id, acks=list(receipt.acks), received_at=now
                )
            )
    except (IntegrityError, ApiError):
        # Another instance applied the same message while this one waited for the ward's lock: the change is
        # judged against a board that already has it (refused, or its receipt's insert collides). Then the
        # answer is that message's: rolled back to the savepoint, nothing of this attempt stays.
        acks = prior_acks(conn, receipt)
        if acks is None:
            raise
        return Written(req.ward_id, "", 0, None, None, prior_acks=acks)
    return written
