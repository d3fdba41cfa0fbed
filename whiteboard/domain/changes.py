"""Several bed changes as one write (a FHIR transaction Bundle): kept apart from `beds` because an item may be
a charted set of observations, whose module builds on `beds`."""

from __future__ import annotations

from dataclasses import dataclass

from whiteboard.domain.beds import BedPatch
from whiteboard.domain.moves import Move
from whiteboard.domain.observations import ObservationRecord


@dataclass(frozen=True)
class BedChanges:
    """Several bed changes committed together or not at all (a FHIR transaction Bundle): (ward, bed, patch, move
    or charted observations) each, judged in order against the committed beds inside one transaction; one refusal
    undoes them all."""

    items: tuple[tuple[str, str, BedPatch | Move | ObservationRecord], ...]
