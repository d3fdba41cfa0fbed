"""Feed messages applied once: each sender's MSH-10 with the ACKs it got, written in the change's transaction.

The receipt goes in a savepoint with the change itself, so either both are committed or neither is: a resend
finds the receipt and gets the same ACKs back without the change being applied again, and a message that was
refused (nothing written) leaves no receipt, so a resend is judged afresh against the board as it is then.

Cancels that arrive before their event (an A11 before its A01): a cancel with nothing to undo is kept as a
pending cancel (`feed_cancels`) and accepted; the cancelled event, when it comes from the same sender with an
event time no later than the cancel's, is refused and changes nothing (hazard H26).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from whiteboard.domain.clock import as_utc
from whiteboard.errors import ApiError, DomainError
from whiteboard.store.models import BEDS as _B
from whiteboard.store.models import FEED_CANCELS as _C
from whiteboard.store.models import FEED_MESSAGES as _F
from whiteboard.store.rows import FeedReceipt, WriteRequest, Written

# A cancel that finds these has nothing to undo yet (its event has not arrived): it is kept, not refused.
NOTHING_TO_UNDO: Final = frozenset({"no_patient", "wrong_patient"})


def prior_acks(conn: Connection, receipt: FeedReceipt) -> tuple[str, ...] | None:
    """The ACKs this message got when it was first applied, or None if it never was."""
    acks = conn.execute(
        select(_F.c.acks).where(_F.c.sender == receipt.sender, _F.c.control_id == receipt.control_id)
    ).scalar_one_or_none()
    return None if acks is None else tuple(str(a) for a in acks)


def _cancelled_by(conn: Connection, receipt: FeedReceipt) -> str | None:
    """The MSH-10 of a cancel that came first and undoes this event, or None."""
    if receipt.key is None or receipt.event_time is None:
        return None
    found = conn.execute(
        select(_C.c.control_id)
        .where(_C.c.sender == receipt.sender, _C.c.key == receipt.key, _C.c.event_time >= as_utc(receipt.event_time))
        .limit(1)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def _refuse_second_bed(conn: Connection, nhs_number: str, ward_id: str, bed_id: str | None) -> None:
    """A patient is in one bed: an admission of someone already on another bed is a duplicate admit (H25)."""
    where = conn.execute(
        select(_B.c.ward_id, _B.c.id)
        .where(_B.c.patient["nhs_number"].as_string() == nhs_number)
        .where((_B.c.ward_id != ward_id) | (_B.c.id != bed_id))
        .limit(1)
    ).first()
    if where is not None:
        raise DomainError(
            f"this patient (NHS number {nhs_number}) is already in bed {where.id} of {where.ward_id}: move them with "
            "A02, or cancel that admission with A11",
            "patient.nhs_number",
            "already_admitted",
        )


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
    if receipt.admits is not None:
        _refuse_second_bed(conn, receipt.admits, req.ward_id, req.bed_id)
    cancel = _cancelled_by(conn, receipt)
    if cancel is not None:
        raise DomainError(
            f"a cancel (MSH-10 {cancel}) of this event, sent after it, arrived first: it is not applied",
            None,
            "cancelled_earlier",
        )
    pending = False
    try:
        with conn.begin_nested():  # a refusal raised by `write` undoes whatever it wrote before raising
            try:
                written = write(conn, req, now)
            except ApiError as exc:
                if receipt.undoes is None or receipt.event_time is None or exc.code not in NOTHING_TO_UNDO:
                    raise
                written, pending = Written(req.ward_id, "", 0, None, None, cancel_pending=True), True
            if pending or (receipt.undoes is not None and written.event is None):
                _keep_cancel(conn, receipt, now)
                pending = True
            _insert_receipt(conn, receipt, now)
    except (IntegrityError, ApiError):
        # Another instance applied the same message while this one waited for the ward's lock: the change is
        # judged against a board that already has it (refused, or its receipt's insert collides). Then the
        # answer is that message's: rolled back to the savepoint, nothing of this attempt stays.
        acks = prior_acks(conn, receipt)
        if acks is None:
            raise
        return Written(req.ward_id, "", 0, None, None, prior_acks=acks)
    if pending and written.event is None:
        return Written(written.ward_id, written.log, written.seq, None, None, written.version, cancel_pending=True)
    return written


def _insert_receipt(conn: Connection, receipt: FeedReceipt, now: dt.datetime) -> None:
    conn.execute(
        insert(_F).values(
            sender=receipt.sender, control_id=receipt.control_id, acks=list(receipt.acks), received_at=now
        )
    )


def _keep_cancel(conn: Connection, receipt: FeedReceipt, now: dt.datetime) -> None:
    assert receipt.undoes is not None and receipt.event_time is not None
    conn.execute(
        insert(_C).values(
            sender=receipt.sender,
            key=receipt.undoes,
            event_time=as_utc(receipt.event_time),
            control_id=receipt.control_id,
            received_at=now,
        )
    )
