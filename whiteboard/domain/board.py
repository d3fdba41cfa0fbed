"""A ward view: the current state of one ward in memory, fed by its event log.

Pure apart from holding state: `apply` takes events in offset order (and ignores any at or below the
current position, so a replayed event is harmless). Snapshots are serialised once per audience and
position, then served to every request and connection that asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from whiteboard.domain import offsets, redact
from whiteboard.domain.redact import Audience
from whiteboard.types import JSONDict


@dataclass(slots=True)
class WardState:
    """A ward as committed at sequence `seq`: what a ward view starts from."""

    id: str
    uid: str
    name: str
    seq: int
    display_fields: frozenset[str] | None
    beds: list[JSONDict] = field(default_factory=list)

    @property
    def log(self) -> str:
        return offsets.log_name(self.id, self.uid)


class WardView:
    def __init__(self, state: WardState, epoch: str) -> None:
        self.reset(state, epoch)

    def reset(self, state: WardState, epoch: str) -> None:
        self.id = state.id
        self.uid = state.uid
        self.log = state.log
        self.name = state.name
        self.seq = state.seq
        self.epoch = epoch
        self.display_fields = state.display_fields
        self.beds: dict[str, JSONDict] = {b["id"]: b for b in state.beds}
        self._snapshots: dict[str, tuple[int, str, bytes]] = {}

    @property
    def offset(self) -> str:
        return offsets.format(self.seq)

    @property
    def etag(self) -> str:
        """One tag per ward position; responses also `Vary` on the credential, which picks the audience."""
        return f'"{self.seq}.{self.uid[:8]}"'

    def audience_for(self, role: str) -> Audience:
        return redact.display_audience(self.display_fields) if role == "display" else redact.STAFF

    def apply(self, seq: int, event: JSONDict) -> bool:
        if seq <= self.seq:
            return False
        if event.get("kind") == "ward.display_profile":
            fields = event["changes"]["display_fields"]
            self.display_fields = frozenset(fields) if fields is not None else None
            self._snapshots.clear()
        else:
            bed = self.beds.get(event.get("bed") or "")
            if bed is not None:
                bed.update(event.get("changes", {}))
            # A move within the ward changes a second bed in the same event (store.moves).
            for bed_id, changes in (event.get("also") or {}).items():
                other = self.beds.get(bed_id)
                if other is not None:
                    other.update(changes)
            # The similar-name warning can move on other beds too (store._similar_name_moves).
            for bed_id, flagged in (event.get("similar_name") or {}).items():
                other = self.beds.get(bed_id)
                if other is not None:
                    other["similar_name"] = bool(flagged)
        self.seq = seq
        return True

    def snapshot(self, audience: Audience, *, recovered: bool | None = None) -> JSONDict:
        body: dict[str, Any] = {
            "ward": {"id": self.id, "name": self.name},
            "epoch": self.epoch,
            "offset": self.offset,
            "beds": [redact.bed(b, audience) for b in self.beds.values()],
        }
        if recovered is not None:
            body["recovered"] = recovered
        return body

    def snapshot_bytes(self, audience: Audience) -> bytes:
        """The HTTP snapshot body, cached until the ward moves on."""
        hit = self._snapshots.get(audience.key)
        if hit is not None and hit[0] == self.seq and hit[1] == self.epoch:
            return hit[2]
        data = orjson.dumps(self.snapshot(audience))
        self._snapshots[audience.key] = (self.seq, self.epoch, data)
        return data

    def snapshot_frame(self, audience: Audience, *, recovered: bool | None = None) -> str:
        return orjson.dumps({"type": "snapshot", **self.snapshot(audience, recovered=recovered)}).decode()
