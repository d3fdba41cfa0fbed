"""The store's records: who acted, what to write, what was written, what a ward and a credential look like."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from whiteboard.domain.beds import BedPatch, DisplayProfile, ReadRecord
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
    # api | phone | demo | feed:hl7 | cli | admin-page | pairing | login | oidc
    source: str = "api"

    def audit_fields(self) -> dict[str, Any]:
        """The columns of an audit record that say who acted."""
        return {"actor": self.name, "credential_id": self.credential_id, "role": self.role, "source": self.source}


@dataclass(slots=True)
class WriteRequest:
    ward_id: str
    bed_id: str | None  # None for ward-level changes (the display profile)
    patch: BedPatch | DisplayProfile | ReadRecord | Move | ObservationRecord
    actor: Actor
    # The version the client last saw of this bed (a bed ETag, or a ward ETag: a ward position covers
    # every bed); the write is refused when the bed changed after it. None: unconditional.
    if_match_seq: int | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """An accepted write. `event` is None when the update changed nothing (no new sequence number).

    `also`: what the same transaction wrote to other wards (a transfer's target ward), each relayed to its
    own ward's log like this one.
    """

    ward_id: str
    log: str
    seq: int
    event: JSONDict | None
    payload: bytes | None
    version: int | None = None  # the bed's version after the write (bed writes only)
    also: tuple[Written, ...] = ()


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
