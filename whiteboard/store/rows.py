"""The store's records: who acted, what to write, what was written, what a ward and a credential look like."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from whiteboard.domain.beds import BedPatch, DisplayProfile, ReadRecord
from whiteboard.domain.changes import BedChanges
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import ObservationRecord
from whiteboard.domain.offsets import log_name
from whiteboard.types import JSONDict


class StoreUnavailable(Exception):
    """The database does not answer; mapped to 503."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the audit trail and the event's `by`."""

    name: str
    role: str
    credential_id: str | None = None
    # api | phone | fhir | demo | feed:hl7 | cli | admin-page | pairing | login | oidc
    source: str = "api"

    def audit_fields(self) -> dict[str, Any]:
        """The columns of an audit record that say who acted."""
        return {"actor": self.name, "credential_id": self.credential_id, "role": self.role, "source": self.source}


@dataclass(frozen=True, slots=True)
class FeedReceipt:
    """A feed message's identity and the ACKs it gets once applied: stored in the change's transaction, so a
    resend (same `sender`, same `control_id`) is answered with `acks` again instead of being applied twice."""

    sender: str  # the sending application and facility (MSH-3, MSH-4)
    control_id: str  # MSH-10
    acks: tuple[str, ...]
    # Cancels that come before their event (hazard H26): `event_time` is the message's (EVN-2 or MSH-7);
    # `key` names this event (refused if a cancel of it, timed after it, came first); `undoes` the event a
    # cancel undoes (kept as a pending cancel when there is nothing to undo yet).
    event_time: dt.datetime | None = None
    key: str | None = None
    undoes: str | None = None
    # An admission (A01, A13): the NHS number admitted, refused while that patient is on another bed.
    admits: str | None = None


@dataclass(slots=True)
class WriteRequest:
    ward_id: str
    bed_id: str | None  # None for ward-level changes (the display profile)
    patch: BedPatch | BedChanges | DisplayProfile | ReadRecord | Move | ObservationRecord
    actor: Actor
    # The version the client last saw of this bed (a bed ETag, or a ward ETag: a ward position covers
    # every bed); the write is refused when the bed changed after it. None: unconditional.
    if_match_seq: int | None = None
    request_id: str | None = None
    receipt: FeedReceipt | None = None  # a feed message: applied once per sender and control id


@dataclass(frozen=True, slots=True)
class Written:
    """An accepted write. `event` is None when the update changed nothing (no new sequence number).

    `also`: what the same transaction wrote to other wards (a transfer's target ward), each relayed to its
    own ward's log like this one. A `BedChanges` request is answered by one `Written` whose `parts` are the
    changes it committed (each with its own event and `also`, in commit order); the relay appends each.
    """

    ward_id: str
    log: str
    seq: int
    event: JSONDict | None
    payload: bytes | None
    version: int | None = None  # the bed's version after the write (bed writes only)
    also: tuple[Written, ...] = ()
    # A feed message seen before: nothing was written, and these are the ACKs it got the first time.
    prior_acks: tuple[str, ...] | None = None
    # A feed's cancel with nothing to undo yet: kept, so the event it cancels is refused when it comes.
    cancel_pending: bool = False
    parts: tuple[Written, ...] = ()


@dataclass(frozen=True, slots=True)
class WardInfo:
    id: str
    uid: str
    name: str
    beds: int

    @property
    def log(self) -> str:
        return log_name(self.id, self.uid)


@dataclass(frozen=True, slots=True)
class CredentialRow:
    id: str
    role: str
    wards: tuple[str, ...] | None
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    ward_id: str
    seq: int
    log: str
    payload: bytes
